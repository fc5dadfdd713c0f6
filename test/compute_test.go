package test

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// containers returns every container definition by container name.
func containers(s *synthesized) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, td := range s.resources("AWS::ECS::TaskDefinition") {
		for _, c := range props(td)["ContainerDefinitions"].([]any) {
			c := c.(map[string]any)
			out[c["Name"].(string)] = c
		}
	}
	return out
}

func taskOf(s *synthesized, container string) map[string]any {
	for _, td := range s.resources("AWS::ECS::TaskDefinition") {
		for _, c := range props(td)["ContainerDefinitions"].([]any) {
			if c.(map[string]any)["Name"] == container {
				return props(td)
			}
		}
	}
	return nil
}

func TestServices(t *testing.T) {
	for _, tc := range []struct {
		path string
		size map[string][2]string
	}{
		{defaultConfig, map[string][2]string{"kong": {"512", "1024"}, "tenant-manager": {"512", "1024"}, "studio": {"512", "1024"}, "postgres-meta": {"256", "512"}}},
		{bigConfig, map[string][2]string{"kong": {"1024", "2048"}, "tenant-manager": {"512", "2048"}, "studio": {"512", "1024"}, "postgres-meta": {"256", "512"}}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			s := synth(t, tc.path)
			cs := containers(s)
			require.Len(t, cs, 4, "kong, tenant-manager, studio, postgres-meta: edge functions run in each project's Lambda")
			for name, size := range tc.size {
				td := taskOf(s, name)
				require.NotNil(t, td, name)
				require.Equal(t, size[0], td["Cpu"], name)
				require.Equal(t, size[1], td["Memory"], name)
				require.Equal(t, "awsvpc", td["NetworkMode"])
				require.Equal(t, []any{"FARGATE"}, td["RequiresCompatibilities"])
			}
			for name, c := range cs {
				logs := c["LogConfiguration"].(map[string]any)
				require.Equal(t, "awslogs", logs["LogDriver"], name)
				opts := logs["Options"].(map[string]any)
				require.Equal(t, name, opts["awslogs-stream-prefix"])
				group := s.resources("AWS::Logs::LogGroup")[refID(opts["awslogs-group"])]
				require.Equal(t, "/ecs/supabase", props(group)["LogGroupName"])
				hc := c["HealthCheck"].(map[string]any)
				require.EqualValues(t, 30, hc["Interval"], name)
				require.EqualValues(t, 5, hc["Timeout"], name)
				require.EqualValues(t, 3, hc["Retries"], name)
				require.NotEmpty(t, hc["Command"], name)
			}
			for id, svc := range s.resources("AWS::ECS::Service") {
				p := props(svc)
				dc := p["DeploymentConfiguration"].(map[string]any)
				require.Equal(t, map[string]any{"Enable": true, "Rollback": true}, dc["DeploymentCircuitBreaker"], id)
				require.EqualValues(t, 100, dc["MinimumHealthyPercent"], id)
				require.Equal(t, "DISABLED", p["NetworkConfiguration"].(map[string]any)["AwsvpcConfiguration"].(map[string]any)["AssignPublicIp"])
			}
		})
	}
	t.Run("autoscaling only when maxCount > desiredCount", func(t *testing.T) {
		require.Empty(t, synth(t, defaultConfig).resources("AWS::ApplicationAutoScaling::ScalableTarget"))
		targets := synth(t, bigConfig).resources("AWS::ApplicationAutoScaling::ScalableTarget")
		require.Len(t, targets, 1)
		for _, tg := range targets {
			require.EqualValues(t, 2, props(tg)["MinCapacity"])
			require.EqualValues(t, 6, props(tg)["MaxCapacity"])
		}
		policies := synth(t, bigConfig).resources("AWS::ApplicationAutoScaling::ScalingPolicy")
		require.Len(t, policies, 1)
		for _, p := range policies {
			cfg := props(p)["TargetTrackingScalingPolicyConfiguration"].(map[string]any)
			require.Equal(t, "ECSServiceAverageCPUUtilization", cfg["PredefinedMetricSpecification"].(map[string]any)["PredefinedMetricType"])
		}
	})
}

func TestServiceDiscovery(t *testing.T) {
	s := synth(t, defaultConfig)
	ns := s.resources("AWS::ServiceDiscovery::PrivateDnsNamespace")
	require.Len(t, ns, 1)
	for _, n := range ns {
		require.Equal(t, "kong.local", props(n)["Name"])
	}
	var names []string
	for _, svc := range s.resources("AWS::ServiceDiscovery::Service") {
		names = append(names, props(svc)["Name"].(string))
	}
	sort.Strings(names)
	require.Equal(t, []string{"kong-gateway", "postgres-meta", "tenant-manager"}, names)
}

// notSecrets are settings whose names only look like secrets.
// STUDIO_AUTH is a mode; the statement timeout is of the authenticated role.
var notSecrets = map[string]bool{"STUDIO_AUTH": true, "TENANT_AUTHENTICATED_STATEMENT_TIMEOUT": true}

var secretLooking = regexp.MustCompile(`(?i)(password|passwd|secret|token|private|encryption_key|auth)`)

// No environment variable carries a secret: secret-sounding names must go
// through Secrets, and their values must not be literals.
func TestContainerSecretsOnlyViaSecretsManager(t *testing.T) {
	for _, path := range []string{defaultConfig, domainConfig} {
		s := synth(t, path)
		for name, c := range containers(s) {
			env, _ := c["Environment"].([]any)
			for _, e := range env {
				kv := e.(map[string]any)
				key := kv["Name"].(string)
				raw, _ := json.Marshal(kv["Value"])
				require.False(t, secretLooking.MatchString(key) && !strings.HasSuffix(key, "_ARN") && !strings.HasSuffix(key, "_URL") && !notSecrets[key],
					"%s: %s looks like a secret but is a plain environment variable", name, key)
				require.NotRegexp(t, `://[^/@"]*:[^/@"]*@`, string(raw), "%s: %s embeds credentials in a URL", name, key)
			}
		}
		want := map[string][]string{
			"kong":           {"KONG_PG_PASSWORD", "KONG_PG_USER", "KONG_REDIS_PASSWORD"},
			"tenant-manager": {"ADMIN_TOKEN", "ENCRYPTION_KEY", "REDIS_PASSWORD"},
			"postgres-meta":  {"PG_META_DB_PASSWORD", "PG_META_DB_USER"},
		}
		for name, keys := range want {
			var got []string
			for _, sec := range containers(s)[name]["Secrets"].([]any) {
				sec := sec.(map[string]any)
				got = append(got, sec["Name"].(string))
				require.True(t, fromSecretsManager(s, sec["ValueFrom"]), "%s: %v comes from Secrets Manager: %v", name, sec["Name"], sec["ValueFrom"])
			}
			sort.Strings(got)
			require.Equal(t, keys, got, name)
		}
	}
}

// fromSecretsManager says whether a ValueFrom names a secret of the stack
// (directly, or a JSON field of it: <arn>:<field>::).
func fromSecretsManager(s *synthesized, v any) bool {
	id := refID(v)
	if m, ok := v.(map[string]any); ok && id == "" {
		if j, ok := m["Fn::Join"].([]any); ok {
			id = refID(j[1].([]any)[0])
		}
	}
	r, ok := s.json["Resources"].(map[string]any)[id].(map[string]any)
	return ok && (r["Type"] == "AWS::SecretsManager::Secret" || r["Type"] == "AWS::SecretsManager::SecretTargetAttachment")
}

func envOf(c map[string]any) map[string]string {
	out := map[string]string{}
	for _, e := range c["Environment"].([]any) {
		kv := e.(map[string]any)
		raw, _ := json.Marshal(kv["Value"])
		out[kv["Name"].(string)] = strings.Trim(string(raw), `"`)
	}
	return out
}

func TestTenantLambdaWiring(t *testing.T) {
	s := synth(t, bigConfig)
	env := envOf(containers(s)["tenant-manager"])
	require.Contains(t, env["POSTGREST_IMAGE_URI"], "container-assets", "the PostgREST image asset")
	roles := s.resources("AWS::IAM::Role")
	var tenantRole string
	for id, r := range roles {
		if strings.Contains(toJSON(t, props(r)["AssumeRolePolicyDocument"]), "lambda.amazonaws.com") && strings.Contains(toJSON(t, props(r)["ManagedPolicyArns"]), "AWSLambdaVPCAccessExecutionRole") && strings.Contains(id, "TenantLambdaRole") {
			tenantRole = id
		}
	}
	require.NotEmpty(t, tenantRole)
	require.Contains(t, env["TENANT_LAMBDA_ROLE_ARN"], tenantRole)
	require.Contains(t, env["TENANT_LAMBDA_SECURITY_GROUP_IDS"], "SecurityGroupsLambda")
	for _, sub := range []string{"privateSubnet1", "privateSubnet2", "privateSubnet3"} {
		require.Contains(t, env["TENANT_LAMBDA_SUBNET_IDS"], sub)
	}
	require.Equal(t, "1024", env["TENANT_LAMBDA_MEMORY_MIB"])
	require.Equal(t, "20", env["TENANT_LAMBDA_TIMEOUT_SECONDS"])
	require.Equal(t, "http://tenant-manager.kong.local:8081", env["CONFIG_SERVICE_URL"], "tenant functions read their configuration on the internal port")
	require.Equal(t, ":8081", env["INTERNAL_LISTEN_ADDR"])
	require.Equal(t, ":8080", env["LISTEN_ADDR"])
	require.Equal(t, "http://tenant-manager.kong.local:8081", envOf(containers(s)["kong"])["TENANT_MANAGER_URL"], "the gateway reads /config on the internal port")
	require.Equal(t, "300", envOf(containers(s)["kong"])["KONG_DB_CACHE_TTL"], "a revoked key stops working within 5 minutes even without invalidation events")
	require.Contains(t, toJSON(t, containers(s)["tenant-manager"]["PortMappings"]), `"ContainerPort":8081`)
	require.Contains(t, env["WORKERS"], `supabase-worker-03`)
	require.Contains(t, env["WORKERS"], `secretArn`)
	require.NotContains(t, env["WORKERS"], "password")
	require.Contains(t, env["PLATFORM_DATABASE_SECRET_ARN"], "TenantManagerSecretAttachment", "the platform login is read (and re-read) at run time")

	// A replaced JWT secret stays accepted while any gateway may still mint
	// with it: Redis TTL + worker cache (30 s) + stale window (300 s) + JWT.
	def := envOf(containers(synth(t, defaultConfig))["tenant-manager"])
	require.Equal(t, "300", def["GATEWAY_CACHE_TTL_SECONDS"])
	require.Equal(t, "990", def["JWT_ROTATION_OVERLAP_SECONDS"], "300 + 30 + 300 + 300 + 60 s of margin")
}

// statements returns every IAM policy statement of the template.
func statements(t *testing.T, s *synthesized) []map[string]any {
	var out []map[string]any
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for _, p := range s.resources(typ) {
			for _, st := range props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				out = append(out, st.(map[string]any))
			}
		}
	}
	for _, r := range s.resources("AWS::IAM::Role") {
		pols, _ := props(r)["Policies"].([]any)
		for _, p := range pols {
			for _, st := range p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				out = append(out, st.(map[string]any))
			}
		}
	}
	return out
}

func actionsOf(st map[string]any) []string {
	switch a := st["Action"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func TestIamLeastPrivilege(t *testing.T) {
	s := synth(t, defaultConfig)
	sts := statements(t, s)
	for _, st := range sts {
		for _, a := range actionsOf(st) {
			require.NotEqual(t, "*", a, "no * action: %v", st)
			require.False(t, strings.HasSuffix(a, ":*"), "no service-wide action: %v", st)
		}
	}
	var kong, passRole map[string]any
	for _, st := range sts {
		switch st["Sid"] {
		case "InvokeTenantFunctionUrls":
			kong = st
		case "PassTenantLambdaRole":
			passRole = st
		}
	}
	require.NotNil(t, kong)
	require.Equal(t, []any{"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}, kong["Action"])
	require.Equal(t, "Allow", kong["Effect"])
	fn := func(prefix string) map[string]any {
		return map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":lambda:", map[string]any{"Ref": "AWS::Region"}, ":", map[string]any{"Ref": "AWS::AccountId"}, ":function:" + prefix + "-*"}}}
	}
	require.Equal(t, []any{fn("postgrest"), fn("functions")}, kong["Resource"], "tenant functions only")
	require.NotNil(t, passRole)
	require.Equal(t, "iam:PassRole", passRole["Action"])
	require.Equal(t, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "lambda.amazonaws.com"}}, passRole["Condition"])
	require.Contains(t, toJSON(t, passRole["Resource"]), "TenantLambdaRole")
}

func TestLoadBalancers(t *testing.T) {
	t.Run("no-domain", func(t *testing.T) {
		s := synth(t, defaultConfig)
		listeners := s.resources("AWS::ElasticLoadBalancingV2::Listener")
		require.Len(t, listeners, 3)
		for _, l := range listeners {
			require.EqualValues(t, 80, props(l)["Port"])
			require.Equal(t, "HTTP", props(l)["Protocol"])
		}
		require.Empty(t, s.resources("AWS::CertificateManager::Certificate"))
		require.Empty(t, s.resources("AWS::Route53::RecordSet"))
	})
	t.Run("domain", func(t *testing.T) {
		s := synth(t, domainConfig)
		var https, redirects int
		for _, l := range s.resources("AWS::ElasticLoadBalancingV2::Listener") {
			p := props(l)
			switch p["Port"] {
			case float64(443):
				https++
				require.Equal(t, "HTTPS", p["Protocol"])
				require.Regexp(t, `^ELBSecurityPolicy-TLS13-1-2-`, p["SslPolicy"], "TLS 1.2 or newer")
				require.Len(t, p["Certificates"], 1)
			case float64(80):
				redirects++
				action := p["DefaultActions"].([]any)[0].(map[string]any)
				require.Equal(t, "redirect", action["Type"])
				require.Equal(t, "HTTPS", action["RedirectConfig"].(map[string]any)["Protocol"])
			}
		}
		require.Equal(t, 3, https)
		require.Equal(t, 3, redirects)
		certs := s.resources("AWS::CertificateManager::Certificate")
		require.Len(t, certs, 1)
		for _, c := range certs {
			require.Equal(t, "supabase.example.com", props(c)["DomainName"])
			require.Equal(t, []any{"*.supabase.example.com"}, props(c)["SubjectAlternativeNames"])
			require.Equal(t, "DNS", props(c)["ValidationMethod"])
		}
		var records []string
		for _, r := range s.resources("AWS::Route53::RecordSet") {
			require.Equal(t, "A", props(r)["Type"])
			require.Equal(t, "Z0123456789ABCDEFGHIJ", props(r)["HostedZoneId"])
			records = append(records, props(r)["Name"].(string))
		}
		sort.Strings(records)
		require.Equal(t, []string{"*.supabase.example.com.", "api.supabase.example.com.", "manager.supabase.example.com.", "studio.supabase.example.com."}, records)
	})
	t.Run("manager ALB forwards management paths only", func(t *testing.T) {
		for _, path := range []string{defaultConfig, domainConfig} {
			s := synth(t, path)
			rules := map[float64]map[string]any{}
			for _, r := range s.resources("AWS::ElasticLoadBalancingV2::ListenerRule") {
				rules[props(r)["Priority"].(float64)] = props(r)
			}
			require.Len(t, rules, 2)
			internal := rules[10]
			require.Equal(t, []any{"/project/*/config", "/project/*/postgrest-config"}, internal["Conditions"].([]any)[0].(map[string]any)["PathPatternConfig"].(map[string]any)["Values"])
			action := internal["Actions"].([]any)[0].(map[string]any)
			require.Equal(t, "fixed-response", action["Type"])
			require.Equal(t, "404", action["FixedResponseConfig"].(map[string]any)["StatusCode"])
			require.Equal(t, "forward", rules[20]["Actions"].([]any)[0].(map[string]any)["Type"])
		}
	})
	t.Run("ALB hardening", func(t *testing.T) {
		s := synth(t, defaultConfig)
		albs := s.resources("AWS::ElasticLoadBalancingV2::LoadBalancer")
		require.Len(t, albs, 3)
		for id, a := range albs {
			p := props(a)
			require.Equal(t, "internet-facing", p["Scheme"])
			attrs := map[string]string{}
			for _, kv := range p["LoadBalancerAttributes"].([]any) {
				kv := kv.(map[string]any)
				attrs[kv["Key"].(string)] = toJSON(t, kv["Value"])
			}
			require.Equal(t, `"true"`, attrs["routing.http.drop_invalid_header_fields.enabled"], id)
			require.Equal(t, `"true"`, attrs["access_logs.s3.enabled"], id)
		}
		// ALB access logs support only SSE-S3; the edge function bundles
		// are under a KMS key of the stack.
		for id, b := range s.resources("AWS::S3::Bucket") {
			enc := toJSON(t, props(b)["BucketEncryption"])
			if strings.HasPrefix(id, "LoadBalancersAccessLogs") {
				require.Contains(t, enc, "AES256", id)
			} else {
				require.Contains(t, enc, `"SSEAlgorithm":"aws:kms"`, id)
			}
		}
		var denies int
		for _, bp := range s.resources("AWS::S3::BucketPolicy") {
			if strings.Contains(toJSON(t, props(bp)), `"aws:SecureTransport":"false"`) {
				denies++
			}
		}
		require.Equal(t, len(s.resources("AWS::S3::Bucket")), denies, "every bucket is TLS-only")
	})
}

func TestObservability(t *testing.T) {
	s := synth(t, defaultConfig)
	topics := s.resources("AWS::SNS::Topic")
	require.Len(t, topics, 1)
	require.Empty(t, s.resources("AWS::SNS::Subscription"), "no email configured")
	require.Len(t, synth(t, domainConfig).resources("AWS::SNS::Subscription"), 1, "alarms.email subscribes")
	alarms := s.resources("AWS::CloudWatch::Alarm")
	metrics := map[string]int{}
	for _, a := range alarms {
		p := props(a)
		metrics[p["MetricName"].(string)]++
		require.Len(t, p["AlarmActions"], 1)
	}
	require.Equal(t, 3, metrics["HTTPCode_ELB_5XX_Count"])
	require.Equal(t, 3, metrics["TargetResponseTime"])
	require.Equal(t, 4+2, metrics["CPUUtilization"], "four services and two instances")
	require.Equal(t, 4, metrics["MemoryUtilization"])
	require.Equal(t, 2, metrics["FreeStorageSpace"])
	require.Equal(t, 2, metrics["DatabaseConnections"])
	require.Equal(t, 1, metrics["EngineCPUUtilization"])
	require.Equal(t, 1, metrics["DatabaseMemoryUsagePercentage"])
	var dashboards []string
	for _, d := range s.resources("AWS::CloudWatch::Dashboard") {
		name, _ := props(d)["DashboardName"].(string)
		dashboards = append(dashboards, name)
	}
	require.ElementsMatch(t, []string{"", "SupabaseStack-tenants"}, dashboards, "the platform's dashboard and the per-tenant one")
}

func TestOutputs(t *testing.T) {
	s := synth(t, domainConfig)
	outputs := s.json["Outputs"].(map[string]any)
	var names []string
	for k := range outputs {
		names = append(names, k)
	}
	joined := strings.Join(names, " ")
	for _, want := range []string{"ApiUrl", "StudioUrl", "ManagerUrl", "AdminTokenSecretArn", "WorkerSupabaseWorker01Endpoint", "PrimaryEndpoint",
		"EndUserPoolIssuer", "EndUserPoolClientId"} {
		require.Contains(t, joined, want)
	}
	require.NotContains(t, strings.Join(keys(synth(t, defaultConfig).json["Outputs"].(map[string]any)), " "), "EndUserPool",
		"the end-user pool exists only when configured")
	for k, o := range outputs {
		if strings.Contains(k, "ApiUrl") {
			require.Equal(t, "https://api.supabase.example.com", o.(map[string]any)["Value"])
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
