package test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// only returns the single resource of a map, failing otherwise.
func only(t *testing.T, m map[string]map[string]any) (string, map[string]any) {
	t.Helper()
	require.Len(t, m, 1)
	for id, r := range m {
		return id, r
	}
	return "", nil
}

func TestPlatformBootstrap(t *testing.T) {
	s := synth(t, bigConfig)
	names := sgNames(t, s)
	dbAdmin := map[string]map[string]any{}
	for id, r := range s.resources("AWS::Lambda::Function") {
		if d, _ := props(r)["Description"].(string); strings.HasPrefix(d, "Supabase platform db-admin") {
			dbAdmin[id] = r
		}
	}
	fnID, fn := only(t, dbAdmin)
	p := props(fn)

	t.Run("db-admin function", func(t *testing.T) {
		require.Equal(t, "Image", p["PackageType"])
		require.EqualValues(t, 300, p["Timeout"])
		vpc := p["VpcConfig"].(map[string]any)
		sgs := vpc["SecurityGroupIds"].([]any)
		require.Len(t, sgs, 1)
		require.Equal(t, "DbAdmin", names[refID(sgs[0])], "db-admin runs with the DbAdmin group")
		for _, sub := range vpc["SubnetIds"].([]any) {
			require.False(t, isolatedSubnetIDs(s)[refID(sub)], "db-admin needs egress: private subnets")
		}
		env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		require.Equal(t, "require", env["DB_SSLMODE"])
		instances, err := json.Marshal(env["INSTANCES"])
		require.NoError(t, err)
		for _, name := range []string{"primary", "supabase-worker-01", "supabase-worker-02", "supabase-worker-03"} {
			require.Contains(t, string(instances), `\"`+name+`\":\"`, "INSTANCES names %s", name)
		}
	})

	crID, cr := only(t, s.resources("Custom::PlatformBootstrap"))
	cp := props(cr)
	t.Run("custom resource", func(t *testing.T) {
		require.Equal(t, fnID, refID(cp["ServiceToken"]))
		require.Equal(t, "Retain", cr["DeletionPolicy"])
		attachments := s.resources("AWS::SecretsManager::SecretTargetAttachment")
		for _, k := range []string{"MasterSecretArn", "KongSecretArn", "TenantManagerSecretArn"} {
			require.Contains(t, attachments, refID(cp[k]), "%s is a secret attached to an instance (it carries host and port)", k)
		}
		primaryAttachment := props(attachments[refID(cp["MasterSecretArn"])])
		target := s.resources("AWS::RDS::DBInstance")[refID(primaryAttachment["TargetId"])]
		require.Equal(t, "supabasebig-primary", props(target)["DBInstanceIdentifier"], "the bootstrap runs on the primary")
		// Version is the db-admin image's hash: a change to the bootstrap
		// code changes it, and the update re-runs the bootstrap.
		version, _ := cp["Version"].(string)
		require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{64}$`), version)
		image, err := json.Marshal(p["Code"])
		require.NoError(t, err)
		require.Contains(t, string(image), version)
	})

	t.Run("login secrets", func(t *testing.T) {
		users := map[string]string{}
		for id, r := range s.resources("AWS::SecretsManager::Secret") {
			gen, _ := props(r)["GenerateSecretString"].(map[string]any)
			tmpl := toJSON(t, gen["SecretStringTemplate"])
			if m := regexp.MustCompile(`\\"username\\":\\"([a-z_]+)\\"`).FindStringSubmatch(tmpl); m != nil {
				users[m[1]] = id
			}
		}
		require.Contains(t, users, "kong")
		require.Contains(t, users, "tenant_manager")
		// Their first rotation clones the role, which must exist by then.
		schedules := 0
		for _, r := range s.resources("AWS::SecretsManager::RotationSchedule") {
			deps, _ := r["DependsOn"].([]any)
			for _, d := range deps {
				if d == crID {
					schedules++
				}
			}
		}
		require.Equal(t, 2, schedules, "the kong and tenant_manager rotations wait for the bootstrap")
	})

	t.Run("least privilege", func(t *testing.T) {
		role := refID(p["Role"])
		var actions []string
		var resources []string
		for _, pol := range s.resources("AWS::IAM::Policy") {
			pp := props(pol)
			attached := false
			for _, r := range pp["Roles"].([]any) {
				attached = attached || refID(r) == role
			}
			if !attached {
				continue
			}
			for _, st := range pp["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				stmt := st.(map[string]any)
				switch a := stmt["Action"].(type) {
				case string:
					actions = append(actions, a)
				case []any:
					for _, x := range a {
						actions = append(actions, x.(string))
					}
				}
				if stmt["Action"] == "secretsmanager:GetSecretValue" || strings.Contains(toJSON(t, stmt["Action"]), "GetSecretValue") {
					switch r := stmt["Resource"].(type) {
					case []any:
						for _, x := range r {
							resources = append(resources, refID(x))
						}
					default:
						resources = append(resources, refID(r))
					}
				}
			}
		}
		for _, a := range actions {
			require.NotEqual(t, "*", a)
			require.False(t, strings.HasSuffix(a, ":*"), "no service-wide action: %s", a)
		}
		require.Len(t, resources, 7, "four master secrets and the three login secrets (kong, tenant_manager, postgres_meta), one by one")
	})
}

func toJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
