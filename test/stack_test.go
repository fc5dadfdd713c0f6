package test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

// subnetTiers counts subnets by the tier tag CDK puts on each.
func subnetTiers(s *synthesized) map[string]int {
	tiers := map[string]int{}
	for _, r := range s.resources("AWS::EC2::Subnet") {
		for _, tag := range props(r)["Tags"].([]any) {
			kv := tag.(map[string]any)
			if kv["Key"] == "aws-cdk:subnet-type" {
				tiers[kv["Value"].(string)]++
			}
		}
	}
	return tiers
}

func TestNetwork(t *testing.T) {
	for _, tc := range []struct {
		path      string
		azs, nats int
		cidr      string
	}{
		{defaultConfig, 2, 1, "10.0.0.0/16"},
		{bigConfig, 3, 2, "10.20.0.0/16"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			s := synth(t, tc.path)
			s.template.HasResourceProperties(jsii.String("AWS::EC2::VPC"), map[string]any{"CidrBlock": tc.cidr})
			require.Equal(t, map[string]int{"Public": tc.azs, "Private": tc.azs, "Isolated": tc.azs}, subnetTiers(s))
			for _, r := range s.resources("AWS::EC2::Subnet") {
				cidr := props(r)["CidrBlock"].(string)
				require.True(t, strings.HasSuffix(cidr, "/24"), "subnet %s is not a /24", cidr)
			}
			s.template.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(tc.nats))
			s.template.HasResourceProperties(jsii.String("AWS::EC2::FlowLog"), map[string]any{
				"ResourceType":       "VPC",
				"TrafficType":        "ALL",
				"LogDestinationType": "cloud-watch-logs",
			})
		})
	}
	t.Run("explicit AZs", func(t *testing.T) {
		s := synth(t, bigConfig)
		azs := map[string]bool{}
		for _, r := range s.resources("AWS::EC2::Subnet") {
			azs[props(r)["AvailabilityZone"].(string)] = true
		}
		require.Equal(t, map[string]bool{"eu-west-1a": true, "eu-west-1b": true, "eu-west-1c": true}, azs)
	})
}

// isolatedSubnetIDs returns the logical ids of the isolated subnets.
func isolatedSubnetIDs(s *synthesized) map[string]bool {
	ids := map[string]bool{}
	for id, r := range s.resources("AWS::EC2::Subnet") {
		for _, tag := range props(r)["Tags"].([]any) {
			kv := tag.(map[string]any)
			if kv["Key"] == "aws-cdk:subnet-type" && kv["Value"] == "Isolated" {
				ids[id] = true
			}
		}
	}
	return ids
}

func refID(v any) string {
	m, _ := v.(map[string]any)
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok {
		return ga[0].(string)
	}
	return ""
}

func TestDatabases(t *testing.T) {
	for _, tc := range []struct {
		path    string
		workers int
	}{{defaultConfig, 1}, {bigConfig, 3}} {
		t.Run(tc.path, func(t *testing.T) {
			s := synth(t, tc.path)
			instances := s.resources("AWS::RDS::DBInstance")
			require.Len(t, instances, 1+tc.workers, "a primary and one instance per worker")
			keys := s.resources("AWS::KMS::Key")
			params := s.resources("AWS::RDS::DBParameterGroup")
			subnetGroups := s.resources("AWS::RDS::DBSubnetGroup")
			isolated := isolatedSubnetIDs(s)
			secrets := s.resources("AWS::SecretsManager::Secret")
			for id, r := range instances {
				p := props(r)
				require.Equal(t, true, p["StorageEncrypted"], id)
				key := refID(p["KmsKeyId"])
				require.Contains(t, keys, key, "%s is encrypted with a customer-managed key of the stack", id)
				require.Equal(t, true, props(keys[key])["EnableKeyRotation"], "key rotation")
				require.Equal(t, false, p["PubliclyAccessible"], id)
				require.Equal(t, "postgres", p["Engine"])
				require.True(t, strings.HasPrefix(p["EngineVersion"].(string), "16."), "PostgreSQL 16 by default")
				pg := params[refID(p["DBParameterGroupName"])]
				require.NotNil(t, pg, "%s has the stack's parameter group", id)
				require.Equal(t, "1", props(pg)["Parameters"].(map[string]any)["rds.force_ssl"])
				sg := subnetGroups[refID(p["DBSubnetGroupName"])]
				require.NotNil(t, sg, id)
				for _, sub := range props(sg)["SubnetIds"].([]any) {
					require.True(t, isolated[refID(sub)], "%s sits in isolated subnet %v", id, sub)
				}
				require.EqualValues(t, []any{"postgresql", "upgrade"}, p["EnableCloudwatchLogsExports"])
				require.Equal(t, true, p["DeletionProtection"], id)
				require.NotZero(t, p["BackupRetentionPeriod"], id)
				// The master password is a dynamic reference to a generated
				// secret, never a literal.
				pw, err := json.Marshal(p["MasterUserPassword"])
				require.NoError(t, err)
				require.Contains(t, string(pw), "{{resolve:secretsmanager:")
				require.Contains(t, string(pw), ":SecretString:password::}}")
				require.Equal(t, map[string]string{"snapshot": "Snapshot", "retain": "Retain"}[s.cfg.Database.RemovalPolicy], r["DeletionPolicy"], id)
			}
			studio := 0
			if s.cfg.StudioAuthMode() == "basic" {
				studio = 1
			}
			require.Len(t, secrets, 1+tc.workers+1+3+2+studio, "a master secret per instance, the Redis AUTH token, the kong, tenant_manager and postgres_meta logins, the admin token, the encryption key and (basic mode) Studio's password")
			for id, r := range secrets {
				p := props(r)
				require.NotNil(t, p["GenerateSecretString"], "secret %s is generated", id)
				require.Nil(t, p["SecretString"], "secret %s has no literal value", id)
				require.NotNil(t, p["KmsKeyId"], "secret %s uses a customer-managed key", id)
			}
			s.template.ResourceCountIs(jsii.String("AWS::SecretsManager::RotationSchedule"), jsii.Number(1+tc.workers+3))
		})
	}
	t.Run("removal policy from config", func(t *testing.T) {
		for _, r := range synth(t, bigConfig).resources("AWS::RDS::DBInstance") {
			require.Equal(t, "Retain", r["DeletionPolicy"])
		}
	})
	t.Run("sizes from config", func(t *testing.T) {
		s := synth(t, bigConfig)
		s.template.HasResourceProperties(jsii.String("AWS::RDS::DBInstance"), map[string]any{
			"DBInstanceIdentifier":  "supabasebig-primary",
			"DBInstanceClass":       "db.r6g.large",
			"AllocatedStorage":      "100",
			"MaxAllocatedStorage":   500,
			"MultiAZ":               true,
			"BackupRetentionPeriod": 14,
		})
		s.template.HasResourceProperties(jsii.String("AWS::RDS::DBInstance"), map[string]any{
			"DBInstanceIdentifier": "supabasebig-supabase-worker-03",
			"DBInstanceClass":      "db.t4g.medium",
		})
	})
}

func TestCache(t *testing.T) {
	s := synth(t, defaultConfig)
	groups := s.resources("AWS::ElastiCache::ReplicationGroup")
	require.Len(t, groups, 1)
	for _, r := range groups {
		p := props(r)
		require.Equal(t, true, p["AtRestEncryptionEnabled"])
		require.Equal(t, true, p["TransitEncryptionEnabled"])
		require.NotNil(t, p["KmsKeyId"])
		require.EqualValues(t, 2, p["NumCacheClusters"], "one primary and cache.replicas replicas")
		require.Equal(t, true, p["AutomaticFailoverEnabled"])
		token, err := json.Marshal(p["AuthToken"])
		require.NoError(t, err)
		require.Contains(t, string(token), "{{resolve:secretsmanager:")
		subnets := s.resources("AWS::ElastiCache::SubnetGroup")[refID(p["CacheSubnetGroupName"])]
		isolated := isolatedSubnetIDs(s)
		for _, sub := range props(subnets)["SubnetIds"].([]any) {
			require.True(t, isolated[refID(sub)], "Redis sits in isolated subnets")
		}
	}
}

func TestEnvironment(t *testing.T) {
	t.Run("account-agnostic by default", func(t *testing.T) {
		s := synth(t, defaultConfig)
		require.Equal(t, "unknown-account", s.account, "the account is left to deploy time")
		require.Equal(t, "us-east-1", s.region)
	})
	t.Run("pinned by env.account", func(t *testing.T) {
		s := synth(t, bigConfig)
		require.Equal(t, "123456789012", s.account)
		require.Equal(t, "eu-west-1", s.region)
	})
}

func TestNoDomainWarning(t *testing.T) {
	warn := func(path string) int {
		s := synth(t, path)
		return len(s.findings("warning", regexp.MustCompile(`^No domain configured`)))
	}
	require.Equal(t, 1, warn(defaultConfig))
	require.Equal(t, 0, warn(domainConfig))
}

func TestTags(t *testing.T) {
	s := synth(t, defaultConfig)
	s.template.HasResourceProperties(jsii.String("AWS::EC2::VPC"), map[string]any{
		"Tags": assertions.Match_ArrayWith(&[]any{map[string]any{"Key": "project", "Value": "supabase-on-aws"}}),
	})
}
