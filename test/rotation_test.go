package test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// rotations maps each rotated secret (logical id) to whether its rotation
// is multi-user, read from the rotation application behind its schedule.
func rotations(t *testing.T, s *synthesized) map[string]bool {
	out := map[string]bool{}
	apps := s.resources("AWS::Serverless::Application")
	for _, sched := range s.resources("AWS::SecretsManager::RotationSchedule") {
		p := props(sched)
		secret := refID(p["SecretId"])
		app := refID(p["RotationLambdaARN"])
		a, ok := apps[app]
		require.True(t, ok, "rotation of %s is not a rotation application (%s)", secret, toJSON(t, p["RotationLambdaARN"]))
		// CDK names the application through a per-partition mapping.
		id := props(a)["Location"].(map[string]any)["ApplicationId"]
		if fim, ok := id.(map[string]any)["Fn::FindInMap"].([]any); ok {
			id = s.json["Mappings"].(map[string]any)[fim[0].(string)].(map[string]any)["aws"].(map[string]any)[fim[2].(string)]
		}
		appID, _ := id.(string)
		require.Contains(t, appID, "SecretsManagerRDSPostgreSQLRotation", "rotation of %s", secret)
		out[secret] = strings.HasSuffix(appID, "MultiUser")
	}
	return out
}

// serviceOfContainer maps container names to their ECS service's logical id.
func serviceOfContainer(s *synthesized) map[string]string {
	out := map[string]string{}
	for svcID, svc := range s.resources("AWS::ECS::Service") {
		td := refID(props(svc)["TaskDefinition"])
		tdRes := s.json["Resources"].(map[string]any)[td].(map[string]any)
		for _, c := range props(tdRes)["ContainerDefinitions"].([]any) {
			out[c.(map[string]any)["Name"].(string)] = svcID
		}
	}
	return out
}

// redeployMap reads the redeploy function's ROTATION_CONSUMERS (a Fn::Join
// of a JSON object) as secret logical id → service logical ids, and returns
// the function's logical id.
func redeployMap(t *testing.T, s *synthesized) (string, map[string][]string) {
	for id, fn := range s.resources("AWS::Lambda::Function") {
		env, _ := props(fn)["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		join, ok := vars["ROTATION_CONSUMERS"].(map[string]any)
		if !ok {
			continue
		}
		out := map[string][]string{}
		secret := ""
		for _, part := range join["Fn::Join"].([]any)[1].([]any) {
			m, ok := part.(map[string]any)
			if !ok {
				continue
			}
			if r, ok := m["Ref"].(string); ok {
				secret = r
			}
			if ga, ok := m["Fn::GetAtt"].([]any); ok && ga[1] == "Name" {
				out[secret] = append(out[secret], ga[0].(string))
			}
		}
		return id, out
	}
	t.Fatal("no function has ROTATION_CONSUMERS")
	return "", nil
}

// Every secret that ECS injects into a task at start and that rotates must
// be rotated multi-user (the login a task holds keeps working) and must
// redeploy that task's service after each rotation (so it never reaches the
// rotation after next). Secrets read at run time are not injected.
func TestRotatingSecretsRedeployTheirConsumers(t *testing.T) {
	for _, path := range []string{defaultConfig, bigConfig} {
		t.Run(path, func(t *testing.T) {
			s := synth(t, path)
			rot := rotations(t, s)
			fnID, redeploy := redeployMap(t, s)
			services := serviceOfContainer(s)
			checked := 0
			for name, c := range containers(s) {
				secrets, _ := c["Secrets"].([]any)
				for _, sec := range secrets {
					vf := sec.(map[string]any)["ValueFrom"]
					id := refID(vf)
					if m, ok := vf.(map[string]any); ok && id == "" {
						id = refID(m["Fn::Join"].([]any)[1].([]any)[0])
					}
					multi, rotates := rot[id]
					if !rotates {
						continue
					}
					checked++
					require.True(t, multi, "%s gets %s at task start, but its rotation is single-user: the task's login dies at the first rotation", name, id)
					require.Contains(t, redeploy[id], services[name], "%s gets %s at task start, but a rotation of it does not redeploy %s", name, id, services[name])
				}
			}
			require.GreaterOrEqual(t, checked, 4, "kong and postgres-meta get a rotating user name and password each")

			// The rule sends RotationSucceeded to that function, which may
			// update exactly those services.
			var ruled bool
			for _, r := range s.resources("AWS::Events::Rule") {
				p := props(r)
				pat := toJSON(t, p["EventPattern"])
				if strings.Contains(pat, `"aws.secretsmanager"`) && strings.Contains(pat, `"RotationSucceeded"`) && strings.Contains(toJSON(t, p["Targets"]), fnID) {
					ruled = true
				}
			}
			require.True(t, ruled, "no EventBridge rule sends RotationSucceeded to %s", fnID)

			// Secrets Manager rotates a secret as soon as its schedule
			// exists: the rule must be there first, or that first event is
			// lost. And a lost or failed redeploy alarms.
			var ruleID string
			for id, r := range s.resources("AWS::Events::Rule") {
				if strings.Contains(toJSON(t, props(r)["Targets"]), fnID) {
					ruleID = id
				}
			}
			for id, sched := range s.resources("AWS::SecretsManager::RotationSchedule") {
				if _, consumed := redeploy[refID(props(sched)["SecretId"])]; consumed {
					require.Contains(t, toJSON(t, sched["DependsOn"]), ruleID, "%s may rotate before the redeploy rule exists", id)
				}
			}
			alarms := 0
			for _, a := range s.resources("AWS::CloudWatch::Alarm") {
				p := toJSON(t, props(a))
				if (strings.Contains(p, fnID) || strings.Contains(p, ruleID)) && strings.Contains(p, "AlarmActions") {
					alarms++
				}
			}
			require.Equal(t, 2, alarms, "the redeploy function's errors and the rule's failed invocations alarm")
			var want []string
			for _, svcs := range redeploy {
				for _, svc := range svcs {
					want = append(want, `{"Ref":"`+svc+`"}`)
				}
			}
			var update []map[string]any
			for _, st := range statements(t, s) {
				for _, a := range actionsOf(st) {
					if a == "ecs:UpdateService" {
						update = append(update, st)
					}
				}
			}
			require.Len(t, update, 1)
			res := toJSON(t, update[0]["Resource"])
			for _, w := range want {
				require.Contains(t, res, w)
			}
			require.Equal(t, len(want), strings.Count(res, `"Ref"`), "ecs:UpdateService only on the consumers: %s", res)
		})
	}
}

func TestPostgresMetaOwnLogin(t *testing.T) {
	s := synth(t, defaultConfig)
	var login map[string]any
	for _, r := range s.resources("Custom::DatabaseLogin") {
		login = props(r)
	}
	require.NotNil(t, login)
	require.Equal(t, "postgres_meta", login["Role"])
	require.Equal(t, []any{"pg_monitor", "pg_read_all_data"}, login["MemberOf"])
	require.Contains(t, refID(login["MasterSecretArn"]), "Worker01", "created by the first worker's master")
	meta := containers(s)["postgres-meta"]
	require.Contains(t, toJSON(t, meta["Secrets"]), refID(login["LoginSecretArn"]))
	require.NotContains(t, toJSON(t, meta["Secrets"]), "Worker01InstanceSecret", "postgres-meta no longer logs in as the worker's master")
}

// The tenant-manager may not write the policy of the CDK asset repository
// (shared by every CDK app in the account); the stack instead requires the
// bootstrap version whose repository lets Lambda pull images.
func TestNoSharedRepositoryPolicyWrites(t *testing.T) {
	s := synth(t, defaultConfig)
	for _, st := range statements(t, s) {
		for _, a := range actionsOf(st) {
			require.NotContains(t, []string{"ecr:SetRepositoryPolicy", "ecr:DeleteRepositoryPolicy", "ecr:GetRepositoryPolicy"}, a, "%v", st)
		}
	}
	rule, ok := s.json["Rules"].(map[string]any)["CheckBootstrapVersionForTenantFunctions"]
	require.True(t, ok)
	j := toJSON(t, rule)
	require.Contains(t, j, `"32"`)
	require.NotContains(t, j, `"33"`)
	require.Contains(t, j, `{"Ref":"BootstrapVersion"}`)
	require.Contains(t, j, "cdk bootstrap")
}
