package platform

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// NamedService pairs a service with the name alarms use.
type NamedService struct {
	Name    string
	Service awsecs.FargateService
}

type ObservabilityProps struct {
	// Email is subscribed to the alarm topic ("" = nobody).
	Email string
}

// WatchProps are what the platform's alarms and dashboard watch.
type WatchProps struct {
	LoadBalancers *LoadBalancers
	Services      []NamedService
	Databases     *Databases
	Cache         *Cache
}

// Observability is the alarm topic, the platform's alarms and one
// dashboard. The topic comes first, so services that raise alarms of their
// own (the tenant-manager's per-project alarms) are built with it; Watch
// adds the alarms on the services once they exist.
type Observability struct {
	constructs.Construct
	Topic     awssns.Topic
	Alarms    []awscloudwatch.Alarm
	Dashboard awscloudwatch.Dashboard
}

func NewObservability(scope constructs.Construct, id string, props *ObservabilityProps) *Observability {
	this := constructs.NewConstruct(scope, jsii.String(id))
	o := &Observability{Construct: this}

	// CloudWatch cannot publish to a topic under the AWS-managed SNS key.
	key := newKey(this, "alarm topic")
	key.GrantEncryptDecrypt(awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil))
	o.Topic = awssns.NewTopic(this, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("Supabase platform alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	if props.Email != "" {
		o.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(props.Email), nil))
	}
	return o
}

// Watch adds the platform's alarms and its dashboard.
func (o *Observability) Watch(props *WatchProps) {
	this := o.Construct
	action := awscloudwatchactions.NewSnsAction(o.Topic)
	five := awscdk.Duration_Minutes(jsii.Number(5))

	alarm := func(name, description string, metric awscloudwatch.IMetric, threshold float64, op awscloudwatch.ComparisonOperator) {
		a := awscloudwatch.NewAlarm(this, jsii.String(name), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(3),
			DatapointsToAlarm:  jsii.Number(2),
			ComparisonOperator: op,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
		o.Alarms = append(o.Alarms, a)
	}
	above := awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD
	below := awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD

	lbs := []struct {
		name string
		alb  elb.ApplicationLoadBalancer
	}{{"Kong", props.LoadBalancers.Kong}, {"Studio", props.LoadBalancers.Studio}, {"Manager", props.LoadBalancers.Manager}}
	for _, l := range lbs {
		m := l.alb.Metrics()
		alarm(l.name+"Alb5xx", l.name+" ALB: more than 10 load-balancer 5xx in 5 minutes",
			m.HttpCodeElb(elb.HttpCodeElb_ELB_5XX_COUNT, &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 10, above)
		alarm(l.name+"Target5xx", l.name+" ALB: more than 10 target 5xx in 5 minutes",
			m.HttpCodeTarget(elb.HttpCodeTarget_TARGET_5XX_COUNT, &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 10, above)
		alarm(l.name+"ResponseTime", l.name+" ALB: p95 target response time above 2 s",
			m.TargetResponseTime(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("p95")}), 2, above)
	}
	for _, s := range props.Services {
		alarm(constructID(s.Name)+"Cpu", s.Name+": CPU above 85 %", s.Service.MetricCpuUtilization(&awscloudwatch.MetricOptions{Period: five}), 85, above)
		alarm(constructID(s.Name)+"Memory", s.Name+": memory above 85 %", s.Service.MetricMemoryUtilization(&awscloudwatch.MetricOptions{Period: five}), 85, above)
	}
	for _, d := range append([]Database{props.Databases.Primary}, props.Databases.Workers...) {
		n := constructID(d.ID)
		alarm(n+"Cpu", fmt.Sprintf("RDS %s: CPU above 80 %%", d.ID), d.Instance.MetricCPUUtilization(&awscloudwatch.MetricOptions{Period: five}), 80, above)
		alarm(n+"FreeStorage", fmt.Sprintf("RDS %s: less than 2 GiB free storage", d.ID), d.Instance.MetricFreeStorageSpace(&awscloudwatch.MetricOptions{Period: five}), 2*1024*1024*1024, below)
		alarm(n+"Connections", fmt.Sprintf("RDS %s: more than 80 connections", d.ID), d.Instance.MetricDatabaseConnections(&awscloudwatch.MetricOptions{Period: five}), 80, above)
	}
	// Redis metrics are per member cluster; the primary is <group>-001.
	redis := func(metric string) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/ElastiCache"), MetricName: jsii.String(metric), Period: five, Statistic: jsii.String("Average"),
			DimensionsMap: &map[string]*string{"CacheClusterId": awscdk.Fn_Join(jsii.String(""), &[]*string{props.Cache.ReplicationGroup.Ref(), jsii.String("-001")})},
		})
	}
	alarm("RedisCpu", "Redis: engine CPU above 80 %", redis("EngineCPUUtilization"), 80, above)
	alarm("RedisMemory", "Redis: memory above 85 %", redis("DatabaseMemoryUsagePercentage"), 85, above)

	o.Dashboard = awscloudwatch.NewDashboard(this, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
	})
	var requests, errors []awscloudwatch.IMetric
	for _, l := range lbs {
		requests = append(requests, l.alb.Metrics().RequestCount(&awscloudwatch.MetricOptions{Label: jsii.String(l.name), Period: awscdk.Duration_Minutes(jsii.Number(1))}))
		errors = append(errors, l.alb.Metrics().HttpCodeTarget(elb.HttpCodeTarget_TARGET_5XX_COUNT, &awscloudwatch.MetricOptions{Label: jsii.String(l.name), Period: awscdk.Duration_Minutes(jsii.Number(1))}))
	}
	var cpu, dbCPU []awscloudwatch.IMetric
	for _, s := range props.Services {
		cpu = append(cpu, s.Service.MetricCpuUtilization(&awscloudwatch.MetricOptions{Label: jsii.String(s.Name)}))
	}
	for _, d := range append([]Database{props.Databases.Primary}, props.Databases.Workers...) {
		dbCPU = append(dbCPU, d.Instance.MetricCPUUtilization(&awscloudwatch.MetricOptions{Label: jsii.String(d.ID)}))
	}
	graph := func(title string, metrics []awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &metrics, Width: jsii.Number(12)})
	}
	o.Dashboard.AddWidgets(graph("ALB requests", requests), graph("ALB target 5xx", errors))
	o.Dashboard.AddWidgets(graph("Service CPU %", cpu), graph("RDS CPU %", dbCPU))
	o.Dashboard.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String("Alarms"), Alarms: alarmsOf(o.Alarms), Width: jsii.Number(24),
	}))
}

func alarmsOf(as []awscloudwatch.Alarm) *[]interfacesawscloudwatch.IAlarmRef {
	out := make([]interfacesawscloudwatch.IAlarmRef, len(as))
	for i, a := range as {
		out[i] = a
	}
	return &out
}
