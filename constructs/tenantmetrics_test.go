package platform

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

// accessLogFields are the top-level fields of the gateway's access log
// line: Kong's file-log entry (request, response, latencies, route) and the
// custom fields the gateway's config adds (read from render.lua).
func accessLogFields(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(servicesDir, "kong", "config", "render.lua"))
	require.NoError(t, err)
	block := regexp.MustCompile(`(?s)local access_log_fields = \{(.*?)\n\}`).FindSubmatch(src)
	require.NotNil(t, block, "render.lua defines access_log_fields")
	fields := map[string]bool{"request": true, "response": true, "latencies": true, "route": true}
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z_]+) = `).FindAllSubmatch(block[1], -1) {
		fields[string(m[1])] = true
	}
	return fields
}

// jsonPathRe finds the access-log field a JSON path ($.a.b) starts at.
var jsonPathRe = regexp.MustCompile(`\$\.([a-z_]+)`)

func TestTenantMetrics(t *testing.T) {
	stack := newStack(t)
	logs := awslogs.LogGroup_FromLogGroupName(stack, jsii.String("Logs"), jsii.String("supabase-services"))
	m := NewTenantMetrics(stack, "TenantMetrics", &TenantMetricsProps{LogGroup: logs, NamePrefix: "MyStack"})
	x := synth(t, stack)
	fields := accessLogFields(t)

	t.Run("the access log has every field the metrics, rules and queries read", func(t *testing.T) {
		for _, f := range []string{logProject, logKeyRole, logRoute, logStatus, logLatency, logUpstream, logGateway, logRequestID} {
			require.True(t, fields[f], "render.lua's access_log_fields has no %q", f)
		}
	})
	t.Run("Requests, 4xx, 5xx and latency, per project and for the platform", func(t *testing.T) {
		x.count(t, "AWS::Logs::MetricFilter", 8)
		for _, name := range []string{"Requests", "Errors4xx", "Errors5xx", "Latency"} {
			x.countWith(t, "AWS::Logs::MetricFilter", map[string]any{
				"LogGroupName": "supabase-services",
				"MetricTransformations": []any{like(map[string]any{
					"MetricNamespace": GatewayNamespace, "MetricName": name,
					"Dimensions": []any{map[string]any{"Key": "Project", "Value": "$.project_id"}},
				})},
			}, 1)
			x.countWith(t, "AWS::Logs::MetricFilter", map[string]any{
				"MetricTransformations": []any{like(map[string]any{"MetricNamespace": GatewayNamespace, "MetricName": name, "Dimensions": absent()})},
			}, 1)
		}
		x.countWith(t, "AWS::Logs::MetricFilter", map[string]any{
			"MetricTransformations": []any{like(map[string]any{"MetricName": "Latency", "MetricValue": "$.latency_ms", "Unit": "Milliseconds"})},
		}, 2)
		for _, f := range x.resources("AWS::Logs::MetricFilter") {
			pattern := props(f)["FilterPattern"].(string)
			require.Contains(t, pattern, `$.project_id = "*"`, "a dimension must be matched by the pattern")
			for _, ref := range jsonPathRe.FindAllStringSubmatch(pattern, -1) {
				require.True(t, fields[ref[1]], "pattern %s reads %q, which the access log lacks", pattern, ref[1])
			}
		}
		x.has(t, "AWS::Logs::MetricFilter", map[string]any{"FilterPattern": matches(`\$\.status >= 500.*\$\.status < 600`)})
	})
	t.Run("Contributor Insights: top projects by requests, by 5xx and by summed latency", func(t *testing.T) {
		x.count(t, "AWS::CloudWatch::InsightRule", 3)
		bodies := map[string]map[string]any{}
		for _, r := range x.resources("AWS::CloudWatch::InsightRule") {
			p := props(r)
			var body map[string]any
			require.NoError(t, json.Unmarshal([]byte(p["RuleBody"].(string)), &body), "RuleBody is JSON")
			require.Equal(t, "ENABLED", p["RuleState"])
			bodies[p["RuleName"].(string)] = body
		}
		require.ElementsMatch(t, []string{"MyStack-top-projects-requests", "MyStack-top-projects-5xx", "MyStack-top-projects-latency"}, m.Rules)
		for name, body := range bodies {
			require.Equal(t, map[string]any{"Name": "CloudWatchLogRule", "Version": 1.0}, body["Schema"], name)
			require.Equal(t, []any{"supabase-services"}, body["LogGroupNames"], name)
			require.Equal(t, "JSON", body["LogFormat"], name)
			c := body["Contribution"].(map[string]any)
			require.Equal(t, []any{"$.project_id"}, c["Keys"], name)
			refs := []string{}
			for _, k := range c["Keys"].([]any) {
				refs = append(refs, k.(string))
			}
			if v, ok := c["ValueOf"].(string); ok {
				refs = append(refs, v)
			}
			for _, f := range c["Filters"].([]any) {
				refs = append(refs, f.(map[string]any)["Match"].(string))
			}
			for _, r := range refs {
				require.True(t, fields[strings.TrimPrefix(r, "$.")], "%s reads %q, which the access log lacks", name, r)
			}
		}
		require.Equal(t, "Count", bodies["MyStack-top-projects-requests"]["AggregateOn"])
		require.Equal(t, "Sum", bodies["MyStack-top-projects-latency"]["AggregateOn"])
		require.Equal(t, "$.latency_ms", bodies["MyStack-top-projects-latency"]["Contribution"].(map[string]any)["ValueOf"])
		require.Contains(t, bodies["MyStack-top-projects-5xx"]["Contribution"].(map[string]any)["Filters"], map[string]any{"Match": "$.status", "GreaterThan": 499.0})
	})
	t.Run("saved queries: one project's requests, errors, slowest requests and key usage by role", func(t *testing.T) {
		x.count(t, "AWS::Logs::QueryDefinition", 4)
		names := map[string]string{}
		for _, q := range x.resources("AWS::Logs::QueryDefinition") {
			p := props(q)
			require.Equal(t, []any{"supabase-services"}, p["LogGroupNames"])
			names[p["Name"].(string)] = p["QueryString"].(string)
		}
		require.Contains(t, names["MyStack/project/requests"], `filter project_id = "example-project"`)
		require.Contains(t, names["MyStack/project/errors"], "status >= 400")
		require.Contains(t, names["MyStack/project/slowest"], "sort latency_ms desc")
		require.Contains(t, names["MyStack/project/key-usage-by-role"], "by key_role")
		for name, q := range names {
			for _, word := range regexp.MustCompile(`\b([a-z]+_[a-z_]+|status|route)\b`).FindAllString(q, -1) {
				require.True(t, fields[word], "query %s reads %q, which the access log lacks", name, word)
			}
		}
	})
	t.Run("one dashboard for any project: a project variable, platform widgets and the top-N rules", func(t *testing.T) {
		var body map[string]any
		d := props(x.resources("AWS::CloudWatch::Dashboard")[logicalID(stack, m.Dashboard)])
		require.Equal(t, "MyStack-tenants", d["DashboardName"])
		require.NoError(t, json.Unmarshal([]byte(resolveJoin(t, d["DashboardBody"])), &body))
		vars := body["variables"].([]any)
		require.Len(t, vars, 1)
		v := vars[0].(map[string]any)
		require.Equal(t, "pattern", v["type"])
		require.Equal(t, dashboardProjectPlaceholder, v["pattern"])
		var rules []string
		var projectWidgets int
		for _, w := range body["widgets"].([]any) {
			p := w.(map[string]any)["properties"].(map[string]any)
			if ir, ok := p["insightRule"].(map[string]any); ok {
				rules = append(rules, ir["ruleName"].(string))
			}
			if strings.Contains(mustMarshal(t, p["metrics"]), dashboardProjectPlaceholder) {
				projectWidgets++
			}
		}
		require.ElementsMatch(t, m.Rules, rules, "a top-N widget per rule")
		require.GreaterOrEqual(t, projectWidgets, 3, "the variable's placeholder drives the per-project widgets")
		require.Contains(t, mustMarshal(t, body), `"FunctionName","postgrest-example-project"`, "the project's function metrics follow the variable")
	})
}

// resolveJoin flattens an Fn::Join of strings and pseudo parameters.
func resolveJoin(t *testing.T, v any) string {
	t.Helper()
	return strings.ReplaceAll(joined(v), "{Ref:AWS::Region}", "us-east-1")
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
