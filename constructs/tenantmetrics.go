package platform

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// GatewayNamespace holds the per-project gateway metrics.
const GatewayNamespace = "Supabase/Gateway"

// Access-log fields the metrics, rules and queries read. The gateway's
// access log (services/kong/config/render.lua) writes them as top-level
// fields of its JSON line; a test checks that it does.
const (
	logProject   = "project_id"
	logKeyRole   = "key_role"
	logRoute     = "route"
	logStatus    = "status"
	logLatency   = "latency_ms"
	logUpstream  = "upstream_ms"
	logGateway   = "gateway_ms"
	logRequestID = "lambda_request_id"
)

// dashboardProjectPlaceholder is replaced in the whole dashboard by the
// project an operator types into the dashboard's variable.
const dashboardProjectPlaceholder = "example-project"

type TenantMetricsProps struct {
	// LogGroup receives the gateway's access log.
	LogGroup awslogs.ILogGroup
	// NamePrefix names the rules, queries and the dashboard (the stack name).
	NamePrefix string
}

// TenantMetrics makes the gateway's access log answer per-tenant
// questions: metric filters publish Requests, Errors4xx, Errors5xx and
// Latency with a Project dimension (and without, for the platform),
// Contributor Insights rules rank projects, saved Logs Insights queries
// drill into one, and a dashboard shows any project by its id.
//
// Metric filters were chosen over embedded metric format because the
// awslogs driver does not mark lines as EMF. A project's four metrics cost
// only in hours it has traffic; CloudWatch disables a metric filter that
// sees more than 1000 distinct dimension values within its window, which
// bounds per-project metrics to about 1000 projects active at once.
type TenantMetrics struct {
	constructs.Construct
	// Rules are the Contributor Insights rule names: by requests, by 5xx,
	// by summed latency.
	Rules     []string
	Dashboard awscloudwatch.CfnDashboard
}

func NewTenantMetrics(scope constructs.Construct, id string, props *TenantMetricsProps) *TenantMetrics {
	this := constructs.NewConstruct(scope, jsii.String(id))
	m := &TenantMetrics{Construct: this}
	str := jsii.String
	field := func(name string) *string { return str("$." + name) }

	// A line is a proxied request when it names a project and a status.
	request := awslogs.FilterPattern_All(awslogs.FilterPattern_Exists(field(logProject)), awslogs.FilterPattern_NumberValue(field(logStatus), str(">="), jsii.Number(100)))
	status := func(lo, hi float64) awslogs.JsonPattern {
		return awslogs.FilterPattern_All(request, awslogs.FilterPattern_NumberValue(field(logStatus), str(">="), jsii.Number(lo)),
			awslogs.FilterPattern_NumberValue(field(logStatus), str("<"), jsii.Number(hi)))
	}
	for _, mf := range []struct {
		name    string
		pattern awslogs.IFilterPattern
		value   string
		unit    awscloudwatch.Unit
	}{
		{"Requests", request, "1", awscloudwatch.Unit_COUNT},
		{"Errors4xx", status(400, 500), "1", awscloudwatch.Unit_COUNT},
		{"Errors5xx", status(500, 600), "1", awscloudwatch.Unit_COUNT},
		{"Latency", request, "$." + logLatency, awscloudwatch.Unit_MILLISECONDS},
	} {
		for _, perProject := range []bool{true, false} {
			id := mf.name + "Platform"
			var dims *map[string]*string
			if perProject {
				id = mf.name + "PerProject"
				dims = &map[string]*string{"Project": field(logProject)}
			}
			awslogs.NewMetricFilter(this, str(id), &awslogs.MetricFilterProps{
				LogGroup: props.LogGroup, FilterPattern: mf.pattern,
				MetricNamespace: str(GatewayNamespace), MetricName: str(mf.name), MetricValue: str(mf.value),
				Dimensions: dims, Unit: mf.unit,
			})
		}
	}

	logGroups := []any{props.LogGroup.LogGroupName()}
	stack := awscdk.Stack_Of(this)
	rule := func(id, name, aggregate string, contribution map[string]any) string {
		ruleName := props.NamePrefix + "-" + name
		body := map[string]any{
			"Schema":        map[string]any{"Name": "CloudWatchLogRule", "Version": 1},
			"LogGroupNames": logGroups,
			"LogFormat":     "JSON",
			"Contribution":  contribution,
			"AggregateOn":   aggregate,
		}
		awscloudwatch.NewCfnInsightRule(this, str(id), &awscloudwatch.CfnInsightRuleProps{
			RuleName: str(ruleName), RuleState: str("ENABLED"), RuleBody: stack.ToJsonString(body, nil),
		})
		m.Rules = append(m.Rules, ruleName)
		return ruleName
	}
	isProject := map[string]any{"Match": "$." + logProject, "IsPresent": true}
	byRequests := rule("TopProjectsByRequests", "top-projects-requests", "Count",
		map[string]any{"Keys": []any{"$." + logProject}, "Filters": []any{isProject}})
	by5xx := rule("TopProjectsBy5xx", "top-projects-5xx", "Count",
		map[string]any{"Keys": []any{"$." + logProject}, "Filters": []any{isProject, map[string]any{"Match": "$." + logStatus, "GreaterThan": 499}}})
	byLatency := rule("TopProjectsByLatency", "top-projects-latency", "Sum",
		map[string]any{"Keys": []any{"$." + logProject}, "ValueOf": "$." + logLatency, "Filters": []any{isProject}})

	// Logs Insights cannot take parameters: each query names a placeholder
	// project to replace before running it.
	for _, q := range []struct{ id, name, query string }{
		{"ProjectRequests", "requests", fmt.Sprintf("fields @timestamp, request.method, request.uri, %s, %s, %s, %s, %s\n| filter %s = %q\n| sort @timestamp desc\n| limit 200",
			logRoute, logStatus, logLatency, logKeyRole, logRequestID, logProject, dashboardProjectPlaceholder)},
		{"ProjectErrors", "errors", fmt.Sprintf("fields @timestamp, request.method, request.uri, %s, %s, %s\n| filter %s = %q and %s >= 400\n| sort @timestamp desc\n| limit 200",
			logRoute, logStatus, logRequestID, logProject, dashboardProjectPlaceholder, logStatus)},
		{"ProjectSlowest", "slowest", fmt.Sprintf("fields @timestamp, request.method, request.uri, %s, %s, %s, %s, %s\n| filter %s = %q\n| sort %s desc\n| limit 50",
			logStatus, logLatency, logUpstream, logGateway, logRequestID, logProject, dashboardProjectPlaceholder, logLatency)},
		{"ProjectKeyUsage", "key-usage-by-role", fmt.Sprintf("filter %s = %q\n| stats count(*) as requests by %s, %s\n| sort requests desc",
			logProject, dashboardProjectPlaceholder, logKeyRole, logRoute)},
	} {
		awslogs.NewCfnQueryDefinition(this, str(q.id), &awslogs.CfnQueryDefinitionProps{
			Name:          str(props.NamePrefix + "/project/" + q.name),
			QueryString:   str(q.query),
			LogGroupNames: &[]any{props.LogGroup.LogGroupName()},
		})
	}

	m.Dashboard = awscloudwatch.NewCfnDashboard(this, str("Dashboard"), &awscloudwatch.CfnDashboardProps{
		DashboardName: str(props.NamePrefix + "-tenants"),
		DashboardBody: stack.ToJsonString(tenantDashboardBody(awscdk.Aws_REGION(), byRequests, by5xx, byLatency), nil),
	})
	return m
}

// tenantDashboardBody is the platform's gateway traffic, the top projects
// from the Contributor Insights rules, and one project's traffic and
// function metrics. The "project" variable replaces the placeholder
// project id everywhere, so one dashboard shows any tenant.
func tenantDashboardBody(region *string, byRequests, by5xx, byLatency string) map[string]any {
	p := dashboardProjectPlaceholder
	fn := "postgrest-" + p
	widget := func(x, y int, title string, props map[string]any) map[string]any {
		props["title"], props["region"] = title, region
		if _, ok := props["view"]; !ok {
			props["view"] = "timeSeries"
		}
		return map[string]any{"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": props}
	}
	metrics := func(stat string, rows ...[]any) map[string]any {
		return map[string]any{"metrics": rows, "stat": stat, "period": 60}
	}
	top := func(rule, orderBy string) map[string]any {
		return map[string]any{"insightRule": map[string]any{"ruleName": rule, "maxContributorCount": 10, "orderBy": orderBy}, "legend": map[string]any{"position": "right"}, "period": 300}
	}
	gw := GatewayNamespace
	return map[string]any{
		"variables": []any{map[string]any{
			"type": "pattern", "pattern": p, "inputType": "input", "id": "project", "label": "Project id",
			"defaultValue": p, "visible": true,
		}},
		"widgets": []any{
			widget(0, 0, "All projects: requests and errors", metrics("Sum", []any{gw, "Requests"}, []any{gw, "Errors4xx"}, []any{gw, "Errors5xx"})),
			widget(12, 0, "All projects: latency (ms)", metrics("p50", []any{gw, "Latency", map[string]any{"stat": "p50"}}, []any{gw, "Latency", map[string]any{"stat": "p99"}})),
			widget(0, 6, "Top projects by requests", top(byRequests, "Sum")),
			widget(12, 6, "Top projects by 5xx", top(by5xx, "Sum")),
			widget(0, 12, "Top projects by total latency (ms)", top(byLatency, "Sum")),
			widget(12, 12, "Project "+p+": requests and errors", metrics("Sum",
				[]any{gw, "Requests", "Project", p}, []any{gw, "Errors4xx", "Project", p}, []any{gw, "Errors5xx", "Project", p})),
			widget(0, 18, "Project "+p+": latency (ms)", metrics("p50",
				[]any{gw, "Latency", "Project", p, map[string]any{"stat": "p50"}}, []any{gw, "Latency", "Project", p, map[string]any{"stat": "p99"}})),
			widget(12, 18, "Project "+p+": function", metrics("Sum",
				[]any{"AWS/Lambda", "Invocations", "FunctionName", fn}, []any{"AWS/Lambda", "Errors", "FunctionName", fn},
				[]any{"AWS/Lambda", "Throttles", "FunctionName", fn}, []any{"AWS/Lambda", "Duration", "FunctionName", fn, map[string]any{"stat": "p99", "yAxis": "right"}})),
		},
	}
}
