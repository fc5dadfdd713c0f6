package test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// rule is one ingress permission: who may reach which group on which port.
type rule struct {
	Group, Source string
	Port          int
}

func (r rule) String() string { return fmt.Sprintf("%s <- %s :%d", r.Group, r.Source, r.Port) }

// sgNames maps each security group's logical id to its role, read from the
// group description ("Supabase platform: Kong gateway tasks" -> "Kong").
func sgNames(t *testing.T, s *synthesized) map[string]string {
	t.Helper()
	byDescription := map[string]string{
		"Kong load balancer":                            "KongAlb",
		"Studio load balancer":                          "StudioAlb",
		"tenant-manager load balancer":                  "ManagerAlb",
		"Kong gateway tasks":                            "Kong",
		"Studio tasks":                                  "Studio",
		"tenant-manager tasks":                          "TenantManager",
		"postgres-meta tasks":                           "PostgresMeta",
		"tenant PostgREST Lambda functions":             "Lambda",
		"db-admin and secret rotation Lambda functions": "DbAdmin",
		"tenant edge functions Lambda functions":        "EdgeFunctions",
		"platform PostgreSQL (primary)":                 "PrimaryDb",
		"tenant PostgreSQL (workers)":                   "WorkerDb",
		"Redis cache":                                   "Redis",
	}
	names := map[string]string{}
	for id, r := range s.resources("AWS::EC2::SecurityGroup") {
		desc, _ := props(r)["GroupDescription"].(string)
		name, ok := byDescription[strings.TrimPrefix(desc, "Supabase platform: ")]
		if !ok {
			t.Errorf("security group %s (%q) is not part of the security-group matrix of docs/architecture.md", id, desc)
			continue
		}
		names[id] = name
	}
	return names
}

// ingressRules collects every ingress permission of the template, both the
// standalone AWS::EC2::SecurityGroupIngress resources and rules inline in a
// group, expressed with the groups' roles.
func ingressRules(t *testing.T, s *synthesized) []rule {
	t.Helper()
	names := sgNames(t, s)
	ref := func(v any) string {
		m, _ := v.(map[string]any)
		if ga, ok := m["Fn::GetAtt"].([]any); ok {
			if n, ok := names[ga[0].(string)]; ok {
				return n
			}
		}
		t.Fatalf("unexpected security group reference %v", v)
		return ""
	}
	var rules []rule
	addRule := func(group string, p map[string]any) {
		from, _ := p["FromPort"].(float64)
		to, _ := p["ToPort"].(float64)
		require.Equal(t, from, to, "port ranges are not part of the matrix: %v", p)
		require.Equal(t, "tcp", p["IpProtocol"], "only TCP is part of the matrix: %v", p)
		var src string
		switch {
		case p["SourceSecurityGroupId"] != nil:
			src = ref(p["SourceSecurityGroupId"])
		case p["CidrIp"] != nil:
			src = p["CidrIp"].(string)
		case p["CidrIpv6"] != nil:
			src = p["CidrIpv6"].(string)
		default:
			t.Fatalf("ingress rule with an unexpected source: %v", p)
		}
		rules = append(rules, rule{Group: group, Source: src, Port: int(from)})
	}
	for id, r := range s.resources("AWS::EC2::SecurityGroup") {
		inline, _ := props(r)["SecurityGroupIngress"].([]any)
		for _, in := range inline {
			addRule(names[id], in.(map[string]any))
		}
	}
	for _, r := range s.resources("AWS::EC2::SecurityGroupIngress") {
		p := props(r)
		addRule(ref(p["GroupId"]), p)
	}
	return rules
}

// expectedMatrix is the security-group matrix of docs/architecture.md for a
// given mode and admin CIDRs.
func expectedMatrix(tls bool, adminCidrs []string) []rule {
	listener := []int{80}
	if tls {
		listener = []int{443, 80}
	}
	var want []rule
	for _, p := range listener {
		want = append(want, rule{"KongAlb", "0.0.0.0/0", p}, rule{"KongAlb", "::/0", p})
		for _, c := range adminCidrs {
			want = append(want, rule{"StudioAlb", c, p}, rule{"ManagerAlb", c, p})
		}
	}
	want = append(want,
		rule{"Kong", "KongAlb", 8000},
		rule{"Kong", "TenantManager", 8001},
		rule{"Studio", "StudioAlb", 8000},
		rule{"TenantManager", "ManagerAlb", 8080},
		rule{"TenantManager", "Kong", 8081},
		rule{"TenantManager", "Lambda", 8081},
		rule{"TenantManager", "EdgeFunctions", 8081},
		rule{"TenantManager", "Studio", 8080},
		rule{"PostgresMeta", "Studio", 8080},
		rule{"PrimaryDb", "Kong", 5432},
		rule{"PrimaryDb", "TenantManager", 5432},
		rule{"PrimaryDb", "DbAdmin", 5432},
		rule{"WorkerDb", "Lambda", 5432},
		rule{"WorkerDb", "TenantManager", 5432},
		rule{"WorkerDb", "PostgresMeta", 5432},
		rule{"WorkerDb", "DbAdmin", 5432},
		rule{"Redis", "Kong", 6379},
		rule{"Redis", "TenantManager", 6379},
	)
	return want
}

func sorted(rules []rule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.String()
	}
	sort.Strings(out)
	return out
}

func TestSecurityGroupMatrix(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		tls        bool
	}{
		{"no-domain", defaultConfig, false},
		{"domain", domainConfig, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.path)
			names := sgNames(t, s)
			require.Len(t, names, 13, "every group of the matrix exists, once")
			require.Equal(t, sorted(expectedMatrix(tc.tls, s.cfg.AdminCidrs)), sorted(ingressRules(t, s)))
		})
	}
}

// Every group is created without allow-all egress: egress is the peers of
// the matrix (checked through ingress above, since CDK adds both sides) and
// HTTPS for AWS APIs, nothing else.
func TestSecurityGroupEgress(t *testing.T) {
	s := synth(t, defaultConfig)
	names := sgNames(t, s)
	https := map[string]bool{}
	for id, r := range s.resources("AWS::EC2::SecurityGroup") {
		inline, _ := props(r)["SecurityGroupEgress"].([]any)
		for _, e := range inline {
			rule := e.(map[string]any)
			if rule["CidrIp"] == "255.255.255.255/32" {
				continue // CDK's placeholder for "no egress at all"
			}
			require.Equal(t, "0.0.0.0/0", rule["CidrIp"], "group %s: %v", names[id], rule)
			require.EqualValues(t, 443, rule["FromPort"], "only HTTPS may leave for the internet: %s", names[id])
			require.EqualValues(t, 443, rule["ToPort"], names[id])
			https[names[id]] = true
		}
	}
	require.Equal(t, map[string]bool{
		"Kong": true, "Studio": true, "TenantManager": true,
		"PostgresMeta": true, "Lambda": true, "EdgeFunctions": true, "DbAdmin": true,
	}, https, "groups with HTTPS egress")
	for id, r := range s.resources("AWS::EC2::SecurityGroupEgress") {
		p := props(r)
		require.NotNil(t, p["DestinationSecurityGroupId"], "%s: standalone egress goes to a group of the matrix", id)
	}
}
