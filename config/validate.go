package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	dnsLabel      = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	stackNameRe   = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9]|-[A-Za-z0-9]){0,39}$`)
	workerIDRe    = regexp.MustCompile(`^[a-z]([a-z0-9]|-[a-z0-9]){0,21}$`)
	azSuffixRe    = regexp.MustCompile(`^[a-z]$`)
	accountRe     = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe      = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$`)
	hostedZoneRe  = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)
	certArnRe     = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$`)
	dbClassRe     = regexp.MustCompile(`^db\.[a-z0-9]+\.[a-z0-9]+$`)
	cacheNodeRe   = regexp.MustCompile(`^cache\.[a-z0-9]+\.[a-z0-9]+$`)
	pgVersionRe   = regexp.MustCompile(`^(1[4-7])\.([0-9]{1,2})$`)
	redisVerRe    = regexp.MustCompile(`^(6\.[02]|7\.[01])$`)
	imageURIRe    = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]{1,128}|@sha256:[0-9a-f]{64})$`)
	emailRe       = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	fargateCPU    = []int{256, 512, 1024, 2048, 4096, 8192, 16384}
	retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

// validator collects problems instead of stopping at the first one.
type validator struct{ problems []Problem }

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) intRange(path string, got, lo, hi int) {
	if got < lo || got > hi {
		v.add(path, "must be %d..%d, got %d", lo, hi, got)
	}
}

// Validate checks every value of c and returns an *Error listing all problems.
func (c *Config) Validate() error {
	v := &validator{}
	if !stackNameRe.MatchString(c.StackName) {
		v.add("stackName", "%q must start with a letter, hold only letters, digits and single '-' not at the end, and be at most 40 characters (it prefixes the RDS instance identifiers)", c.StackName)
	}
	c.validateEnv(v)
	for k, val := range c.Tags {
		p := "tags." + k
		switch {
		case k == "" || len(k) > 128:
			v.add(p, "tag keys must be 1..128 characters")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			v.add(p, "tag keys may not start with \"aws:\" (reserved by AWS)")
		case len(val) > 256:
			v.add(p, "tag values must be at most 256 characters, got %d", len(val))
		}
	}
	c.validateDomain(v)
	c.validateAdminCidrs(v)
	c.validateNetwork(v)
	c.validateDatabase(v)
	c.validateCache(v)
	c.validateServices(v)
	v.intRange("tenantLambda.memoryMiB", c.TenantLambda.MemoryMiB, 128, 10240)
	v.intRange("tenantLambda.timeoutSeconds", c.TenantLambda.TimeoutSeconds, 1, 900)
	if rc := c.TenantLambda.ReservedConcurrency; rc != nil && *rc < 0 {
		v.add("tenantLambda.reservedConcurrency", "must be 0 or more, got %d", *rc)
	}
	v.intRange("gateway.jwtTtlSeconds", c.Gateway.JwtTTLSeconds, 30, 3600)
	v.intRange("gateway.cacheTtlSeconds", c.Gateway.CacheTTLSeconds, 1, 3600)
	if !slices.Contains(retentionDays, c.Logs.RetentionDays) {
		v.add("logs.retentionDays", "%d is not a CloudWatch Logs retention (%s)", c.Logs.RetentionDays, joinInts(retentionDays))
	}
	if c.Alarms.Email != "" && !emailRe.MatchString(c.Alarms.Email) {
		v.add("alarms.email", "%q is not an email address", c.Alarms.Email)
	}
	switch c.StudioAuth {
	case StudioAuthAuto, StudioAuthBasic:
	case StudioAuthCognito:
		if !c.HasDomain() {
			v.add("studioAuth", `"cognito" needs a domain: load balancers authenticate only on HTTPS listeners; set "domain", or use "basic"`)
		}
	default:
		v.add("studioAuth", "%q is not a Studio authentication mode (auto, cognito, basic)", c.StudioAuth)
	}
	if len(v.problems) == 0 {
		return nil
	}
	return &Error{File: "config", Problems: v.problems}
}

func (c *Config) validateEnv(v *validator) {
	if c.Env.Account != "" && !accountRe.MatchString(c.Env.Account) {
		v.add("env.account", "must be a 12-digit AWS account id, got %q", c.Env.Account)
	}
	if !regionRe.MatchString(c.Env.Region) {
		v.add("env.region", "%q is not an AWS region name (e.g. us-east-1)", c.Env.Region)
	}
}

func (c *Config) validateDomain(v *validator) {
	d := c.Domain
	if d == nil {
		return
	}
	if d.Name == "" || d.HostedZoneID == "" || d.HostedZoneName == "" {
		var missing []string
		for _, f := range []struct{ name, val string }{{"name", d.Name}, {"hostedZoneId", d.HostedZoneID}, {"hostedZoneName", d.HostedZoneName}} {
			if f.val == "" {
				missing = append(missing, f.name)
			}
		}
		v.add("domain", "missing %s: a domain needs name, hostedZoneId and hostedZoneName (certificateArn is optional); use \"domain\": null for no-domain mode", strings.Join(missing, ", "))
	}
	if d.Name != "" && !isDNSName(d.Name) {
		v.add("domain.name", "%q is not a DNS name (lower-case labels separated by dots, e.g. example.com)", d.Name)
	}
	if d.HostedZoneID != "" && !hostedZoneRe.MatchString(d.HostedZoneID) {
		v.add("domain.hostedZoneId", "%q is not a Route 53 hosted zone id (e.g. Z0123456789ABCDEFGHIJ)", d.HostedZoneID)
	}
	if d.HostedZoneName != "" {
		zone := strings.TrimSuffix(d.HostedZoneName, ".")
		if !isDNSName(zone) {
			v.add("domain.hostedZoneName", "%q is not a DNS name", d.HostedZoneName)
		} else if d.Name != "" && d.Name != zone && !strings.HasSuffix(d.Name, "."+zone) {
			v.add("domain.hostedZoneName", "%q does not contain domain.name %q", d.HostedZoneName, d.Name)
		}
	}
	if d.CertificateArn != "" && !certArnRe.MatchString(d.CertificateArn) {
		v.add("domain.certificateArn", "%q is not an ACM certificate ARN", d.CertificateArn)
	}
}

func (c *Config) validateAdminCidrs(v *validator) {
	if len(c.AdminCidrs) == 0 {
		v.add("adminCidrs", "must list at least one CIDR allowed to reach Studio and the tenant-manager (e.g. your VPN's \"198.51.100.0/24\")")
	}
	seen := map[string]bool{}
	for i, s := range c.AdminCidrs {
		p := fmt.Sprintf("adminCidrs[%d]", i)
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			v.add(p, "%q is not a CIDR (e.g. 203.0.113.0/24 or 2001:db8::/32)", s)
			continue
		}
		if pfx.Masked() != pfx {
			v.add(p, "%q has host bits set; did you mean %q?", s, pfx.Masked().String())
			continue
		}
		if seen[s] {
			v.add(p, "duplicate %q", s)
		}
		seen[s] = true
	}
}

func (c *Config) validateNetwork(v *validator) {
	n := c.Network
	v.intRange("network.maxAzs", n.MaxAzs, 2, 6)
	pfx, err := netip.ParsePrefix(n.Cidr)
	switch {
	case err != nil || !pfx.Addr().Is4():
		v.add("network.cidr", "%q is not an IPv4 CIDR (e.g. 10.0.0.0/16)", n.Cidr)
	case pfx.Masked() != pfx:
		v.add("network.cidr", "%q has host bits set; did you mean %q?", n.Cidr, pfx.Masked().String())
	case pfx.Bits() < 16 || pfx.Bits() > 22:
		v.add("network.cidr", "prefix must be /16../22 (a VPC holds three /24 subnets per AZ), got /%d", pfx.Bits())
	case n.MaxAzs >= 2 && 3*n.MaxAzs > 1<<(24-pfx.Bits()):
		v.add("network.cidr", "%s has room for %d /24 subnets, but %d AZs need %d", n.Cidr, 1<<(24-pfx.Bits()), n.MaxAzs, 3*n.MaxAzs)
	}
	if len(n.AvailabilityZones) == 0 {
		if c.Env.Account != "" {
			v.add("network.availabilityZones", "must name the %d AZs when env.account is set (e.g. [\"%sa\", \"%sb\"]), because the stack does not look them up at synth time", n.MaxAzs, c.Env.Region, c.Env.Region)
		}
	} else {
		if len(n.AvailabilityZones) != n.MaxAzs {
			v.add("network.availabilityZones", "lists %d AZs but network.maxAzs is %d", len(n.AvailabilityZones), n.MaxAzs)
		}
		seen := map[string]bool{}
		for i, az := range n.AvailabilityZones {
			p := fmt.Sprintf("network.availabilityZones[%d]", i)
			switch {
			case !strings.HasPrefix(az, c.Env.Region) || !azSuffixRe.MatchString(strings.TrimPrefix(az, c.Env.Region)):
				v.add(p, "%q is not an AZ of env.region %q (e.g. %sa)", az, c.Env.Region, c.Env.Region)
			case seen[az]:
				v.add(p, "duplicate %q", az)
			}
			seen[az] = true
		}
	}
	if n.NatGateways < 1 {
		v.add("network.natGateways", "must be at least 1 (private subnets need egress to pull images and call AWS APIs), got %d", n.NatGateways)
	} else if n.NatGateways > n.MaxAzs {
		v.add("network.natGateways", "%d is more than network.maxAzs (%d): at most one NAT gateway per AZ", n.NatGateways, n.MaxAzs)
	}
}

func (c *Config) validateDatabase(v *validator) {
	d := c.Database
	if !pgVersionRe.MatchString(d.EngineVersion) {
		v.add("database.engineVersion", "%q is not a supported PostgreSQL version (major.minor, major 14..17, e.g. \"16.13\")", d.EngineVersion)
	}
	if !slices.Contains([]string{"retain", "snapshot", "destroy"}, d.RemovalPolicy) {
		v.add("database.removalPolicy", "must be one of retain, snapshot, destroy, got %q", d.RemovalPolicy)
	}
	validateInstance(v, "database.primary", d.Primary)
	if len(d.Workers) == 0 {
		v.add("database.workers", "must list at least one worker instance for tenant databases")
	}
	seen := map[string]int{}
	for i, w := range d.Workers {
		p := fmt.Sprintf("database.workers[%d]", i)
		switch {
		case !workerIDRe.MatchString(w.ID):
			v.add(p+".id", "%q must be a DNS label: a lower-case letter, then lower-case letters, digits and single '-', not ending with '-', at most 22 characters", w.ID)
		case seen[w.ID] > 0:
			v.add(p+".id", "duplicate %q (also database.workers[%d].id)", w.ID, seen[w.ID]-1)
		}
		seen[w.ID] = i + 1
		v.intRange(p+".maxTenants", w.MaxTenants, 1, 10000)
		validateInstance(v, p, w.Instance)
	}
}

func validateInstance(v *validator, path string, in Instance) {
	if !dbClassRe.MatchString(in.InstanceClass) {
		v.add(path+".instanceClass", "%q is not an RDS instance class (e.g. db.t3.micro)", in.InstanceClass)
	}
	v.intRange(path+".allocatedStorageGiB", in.AllocatedStorageGiB, 20, 65536)
	if in.MaxAllocatedStorageGiB != 0 && in.MaxAllocatedStorageGiB < in.AllocatedStorageGiB {
		v.add(path+".maxAllocatedStorageGiB", "must be 0 (no storage autoscaling) or at least allocatedStorageGiB (%d), got %d", in.AllocatedStorageGiB, in.MaxAllocatedStorageGiB)
	}
	v.intRange(path+".backupRetentionDays", in.BackupRetentionDays, 1, 35)
}

func (c *Config) validateCache(v *validator) {
	if !cacheNodeRe.MatchString(c.Cache.NodeType) {
		v.add("cache.nodeType", "%q is not an ElastiCache node type (e.g. cache.t3.micro)", c.Cache.NodeType)
	}
	if !redisVerRe.MatchString(c.Cache.EngineVersion) {
		v.add("cache.engineVersion", "%q is not a supported Redis version (6.0, 6.2, 7.0, 7.1)", c.Cache.EngineVersion)
	}
	v.intRange("cache.replicas", c.Cache.Replicas, 0, 5)
	if !c.Cache.TransitEncryption {
		v.add("cache.transitEncryption", "must be true: Redis holds JWT secrets and the AUTH token requires TLS")
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
		p := "services." + s.name
		validateService(v, p, s.svc)
	}
}

func validateService(v *validator, p string, s Service) {
	if !slices.Contains(fargateCPU, s.CPU) {
		v.add(p+".cpu", "%d is not a Fargate CPU size (%s)", s.CPU, joinInts(fargateCPU))
	} else if allowed := fargateMemory(s.CPU); !slices.Contains(allowed, s.MemoryMiB) {
		v.add(p+".memoryMiB", "%d MiB is not a Fargate memory size for cpu %d (%s)", s.MemoryMiB, s.CPU, describeMemory(allowed))
	}
	v.intRange(p+".desiredCount", s.DesiredCount, 1, 100)
	if s.MinCount != nil {
		v.intRange(p+".minCount", *s.MinCount, 1, 100)
		if *s.MinCount > s.DesiredCount {
			v.add(p+".minCount", "%d is more than desiredCount (%d)", *s.MinCount, s.DesiredCount)
		}
	}
	if s.MaxCount != nil {
		v.intRange(p+".maxCount", *s.MaxCount, 1, 100)
		if *s.MaxCount < s.DesiredCount {
			v.add(p+".maxCount", "%d is less than desiredCount (%d)", *s.MaxCount, s.DesiredCount)
		}
	}
	if s.Image != "" && !imageURIRe.MatchString(s.Image) {
		v.add(p+".image", "%q is not a pinned image URI (registry/repository:tag or @sha256:digest, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/kong:3.9.1)", s.Image)
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

func isDNSName(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !dnsLabel.MatchString(l) {
			return false
		}
	}
	return true
}
