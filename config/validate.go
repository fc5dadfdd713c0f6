package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// azSuffixRe is the letter that makes an AZ name of a region name.
var azSuffixRe = regexp.MustCompile(`^[a-z]$`)

// The per-field rules (types, ranges, enums, patterns, unknown and required
// keys) are in config.schema.json; this file holds only the rules that span
// several keys or need address arithmetic, which a JSON Schema cannot state.

// validator collects problems instead of stopping at the first one. A rule
// is skipped when a value it measures against was rejected by the schema:
// "3 is more than maxAzs (9)" next to "maxAzs must be 2..6" would only
// confuse. The value under test itself may have been rejected too; the rule
// then adds what is allowed in its context (the memory sizes of this cpu).
type validator struct {
	problems []Problem
	rejected map[string]bool
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) bad(paths ...string) bool {
	for _, p := range paths {
		if v.rejected[p] {
			return true
		}
	}
	return false
}

// Validate checks c against the schema and the cross-field rules and returns
// an *Error listing all problems.
func (c *Config) Validate() error {
	// The schema describes the file, where a list or map is never null.
	cc := *c
	if cc.Tags == nil {
		cc.Tags = map[string]string{}
	}
	if cc.AdminCidrs == nil {
		cc.AdminCidrs = []string{}
	}
	if cc.Database.Workers == nil {
		cc.Database.Workers = []Worker{}
	}
	data, err := json.Marshal(&cc)
	if err != nil {
		return err
	}
	var inst any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&inst); err != nil {
		return err
	}
	problems, err := schemaProblems(inst)
	if err != nil {
		return err
	}
	problems = append(problems, c.crossFieldProblems(problems)...)
	if len(problems) == 0 {
		return nil
	}
	return &Error{File: "config", Problems: sortProblems(problems)}
}

// crossFieldProblems applies the rules the schema cannot state, skipping
// those whose inputs are among the schema's problems.
func (c *Config) crossFieldProblems(schema []Problem) []Problem {
	v := &validator{rejected: map[string]bool{}}
	for _, p := range schema {
		v.rejected[p.Path] = true
	}
	c.validateDomain(v)
	c.validateAdminCidrs(v)
	c.validateNetwork(v)
	c.validateDatabase(v)
	c.validateServices(v)
	c.validateCapacity(v)
	if c.StudioAuth == StudioAuthCognito && !c.HasDomain() {
		v.add("studioAuth", `"cognito" needs a domain: load balancers authenticate only on HTTPS listeners; set "domain", or use "basic"`)
	}
	return v.problems
}

func (c *Config) validateDomain(v *validator) {
	d := c.Domain
	if d == nil || d.Name == "" || d.HostedZoneName == "" || v.bad("domain.name", "domain.hostedZoneName") {
		return
	}
	zone := strings.TrimSuffix(d.HostedZoneName, ".")
	if d.Name != zone && !strings.HasSuffix(d.Name, "."+zone) {
		v.add("domain.hostedZoneName", "%q does not contain domain.name %q", d.HostedZoneName, d.Name)
	}
}

// validateAdminCidrs parses the CIDRs: IPv6 forms are beyond a readable
// pattern, and host bits get a "did you mean" with the masked prefix.
func (c *Config) validateAdminCidrs(v *validator) {
	for i, s := range c.AdminCidrs {
		p := fmt.Sprintf("adminCidrs[%d]", i)
		if v.bad(p) {
			continue
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			v.add(p, "%q is not a CIDR (e.g. 203.0.113.0/24 or 2001:db8::/32)", s)
			continue
		}
		if pfx.Masked() != pfx {
			v.add(p, "%q has host bits set; did you mean %q?", s, pfx.Masked().String())
		}
	}
}

func (c *Config) validateNetwork(v *validator) {
	n := c.Network
	pfx, err := netip.ParsePrefix(n.Cidr)
	switch {
	case v.bad("network.cidr"):
	case err != nil || !pfx.Addr().Is4():
		v.add("network.cidr", "%q is not an IPv4 CIDR (e.g. 10.0.0.0/16)", n.Cidr)
	case pfx.Masked() != pfx:
		v.add("network.cidr", "%q has host bits set; did you mean %q?", n.Cidr, pfx.Masked().String())
	case pfx.Bits() < 16 || pfx.Bits() > 22:
		v.add("network.cidr", "prefix must be /16../22 (a VPC holds three /24 subnets per AZ), got /%d", pfx.Bits())
	case !v.bad("network.maxAzs") && 3*n.MaxAzs > 1<<(24-pfx.Bits()):
		v.add("network.cidr", "%s has room for %d /24 subnets, but %d AZs need %d", n.Cidr, 1<<(24-pfx.Bits()), n.MaxAzs, 3*n.MaxAzs)
	}
	if len(n.AvailabilityZones) == 0 {
		if c.Env.Account != "" && !v.bad("env.account") {
			v.add("network.availabilityZones", "must name the %d AZs when env.account is set (e.g. [\"%sa\", \"%sb\"]), because the stack does not look them up at synth time", n.MaxAzs, c.Env.Region, c.Env.Region)
		}
	} else {
		if len(n.AvailabilityZones) != n.MaxAzs && !v.bad("network.maxAzs") {
			v.add("network.availabilityZones", "lists %d AZs but network.maxAzs is %d", len(n.AvailabilityZones), n.MaxAzs)
		}
		for i, az := range n.AvailabilityZones {
			p := fmt.Sprintf("network.availabilityZones[%d]", i)
			if v.bad(p, "env.region") {
				continue
			}
			if !strings.HasPrefix(az, c.Env.Region) || !azSuffixRe.MatchString(strings.TrimPrefix(az, c.Env.Region)) {
				v.add(p, "%q is not an AZ of env.region %q (e.g. %sa)", az, c.Env.Region, c.Env.Region)
			}
		}
	}
	if n.NatGateways > n.MaxAzs && !v.bad("network.maxAzs") {
		v.add("network.natGateways", "%d is more than network.maxAzs (%d): at most one NAT gateway per AZ", n.NatGateways, n.MaxAzs)
	}
}

func (c *Config) validateDatabase(v *validator) {
	d := c.Database
	validateInstance(v, "database.primary", d.Primary)
	seen := map[string]int{}
	for i, w := range d.Workers {
		p := fmt.Sprintf("database.workers[%d]", i)
		if !v.bad(p+".id", p) {
			if j, ok := seen[w.ID]; ok {
				v.add(p+".id", "duplicate %q (also database.workers[%d].id)", w.ID, j)
			} else {
				seen[w.ID] = i
			}
		}
		validateInstance(v, p, w.Instance)
	}
}

func validateInstance(v *validator, path string, in Instance) {
	if in.MaxAllocatedStorageGiB != 0 && in.MaxAllocatedStorageGiB < in.AllocatedStorageGiB &&
		!v.bad(path+".allocatedStorageGiB") {
		v.add(path+".maxAllocatedStorageGiB", "must be 0 (no storage autoscaling) or at least allocatedStorageGiB (%d), got %d", in.AllocatedStorageGiB, in.MaxAllocatedStorageGiB)
	}
}

func (c *Config) validateServices(v *validator) {
	for _, s := range []struct {
		name string
		svc  Service
	}{
		{"kong", c.Services.Kong},
		{"tenantManager", c.Services.TenantManager},
		{"studio", c.Services.Studio},
		{"functions", c.Services.Functions},
		{"postgresMeta", c.Services.PostgresMeta},
	} {
		validateService(v, "services."+s.name, s.svc)
	}
}

func validateService(v *validator, p string, s Service) {
	// An unknown cpu has no memory table; the schema reports the cpu.
	if allowed := fargateMemory(s.CPU); allowed != nil && !slices.Contains(allowed, s.MemoryMiB) {
		v.add(p+".memoryMiB", "%d MiB is not a Fargate memory size for cpu %d (%s)", s.MemoryMiB, s.CPU, describeMemory(allowed))
	}
	if s.MinCount != nil && *s.MinCount > s.DesiredCount && !v.bad(p+".desiredCount") {
		v.add(p+".minCount", "%d is more than desiredCount (%d)", *s.MinCount, s.DesiredCount)
	}
	if s.MaxCount != nil && *s.MaxCount < s.DesiredCount && !v.bad(p+".desiredCount") {
		v.add(p+".maxCount", "%d is less than desiredCount (%d)", *s.MaxCount, s.DesiredCount)
	}
}

// fargateMemory lists the memory sizes (MiB) Fargate accepts for a CPU size.
func fargateMemory(cpu int) []int {
	steps := func(lo, hi, step int) []int {
		var out []int
		for m := lo; m <= hi; m += step {
			out = append(out, m)
		}
		return out
	}
	switch cpu {
	case 256:
		return []int{512, 1024, 2048}
	case 512:
		return steps(1024, 4096, 1024)
	case 1024:
		return steps(2048, 8192, 1024)
	case 2048:
		return steps(4096, 16384, 1024)
	case 4096:
		return steps(8192, 30720, 1024)
	case 8192:
		return steps(16384, 61440, 4096)
	case 16384:
		return steps(32768, 122880, 8192)
	}
	return nil
}

func describeMemory(allowed []int) string {
	if len(allowed) <= 4 {
		return joinInts(allowed)
	}
	return fmt.Sprintf("%d..%d in steps of %d", allowed[0], allowed[len(allowed)-1], allowed[1]-allowed[0])
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
