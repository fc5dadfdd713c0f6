package platform

import (
	"fmt"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticache"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

func TestObservability(t *testing.T) {
	stack := newStack(t)
	vpc := importedVpc(stack)
	alb := func(id string) elb.ApplicationLoadBalancer {
		return elb.NewApplicationLoadBalancer(stack, jsii.String(id), &elb.ApplicationLoadBalancerProps{Vpc: vpc, InternetFacing: jsii.Bool(true)})
	}
	sg := importedSG(stack, "DbSg", "sg-000000000000000d1")
	cluster := awsecs.NewCluster(stack, jsii.String("Cluster"), &awsecs.ClusterProps{Vpc: vpc})
	lbs := &LoadBalancers{Kong: alb("Kong"), Studio: alb("Studio"), Manager: alb("Manager")}
	dbs := &Databases{
		Primary: Database{ID: "primary", Instance: testInstance(stack, "Primary", vpc, sg)},
		Workers: []Database{{ID: "w-1", Instance: testInstance(stack, "Worker", vpc, sg)}},
	}
	rg := awselasticache.NewCfnReplicationGroup(stack, jsii.String("Redis"), &awselasticache.CfnReplicationGroupProps{
		ReplicationGroupDescription: jsii.String("test"), Engine: jsii.String("redis"), CacheNodeType: jsii.String("cache.t3.micro"), NumCacheClusters: jsii.Number(1),
	})
	o := NewObservability(stack, "Observability", &ObservabilityProps{Email: "ops@example.com"})
	o.Watch(&WatchProps{
		LoadBalancers: lbs, Databases: dbs, Cache: &Cache{ReplicationGroup: rg},
		Services: []NamedService{{Name: "kong", Service: testService(stack, "KongService", cluster)}},
	})
	x := synth(t, stack)
	topic := logicalID(stack, o.Topic)

	t.Run("an encrypted, TLS-only topic that CloudWatch may publish to, mailed to the operator", func(t *testing.T) {
		key := capture()
		x.has(t, "AWS::SNS::Topic", map[string]any{"KmsMasterKeyId": key, "DisplayName": "Supabase platform alarms"})
		k := x.resource(t, getAttOf(t, key))
		require.Equal(t, "AWS::KMS::Key", k["Type"])
		require.Equal(t, true, props(k)["EnableKeyRotation"])
		x.has(t, "AWS::KMS::Key", map[string]any{"KeyPolicy": like(map[string]any{"Statement": arrayWith(like(map[string]any{
			"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
			"Action":    arrayWith("kms:Decrypt", "kms:GenerateDataKey*"),
		}))})})
		x.has(t, "AWS::SNS::TopicPolicy", map[string]any{"PolicyDocument": like(map[string]any{"Statement": arrayWith(like(map[string]any{
			"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		}))})})
		x.has(t, "AWS::SNS::Subscription", map[string]any{"Protocol": "email", "Endpoint": "ops@example.com", "TopicArn": ref(topic)})
	})
	t.Run("every alarm notifies the topic on alarm and on recovery, and ignores missing data", func(t *testing.T) {
		// 3 per ALB, 2 per service, 3 per database, 2 for Redis.
		x.count(t, "AWS::CloudWatch::Alarm", 3*3+2*1+3*2+2)
		require.Len(t, o.Alarms, 19)
		x.allHave(t, "AWS::CloudWatch::Alarm", map[string]any{
			"AlarmActions": []any{ref(topic)}, "OKActions": []any{ref(topic)},
			"EvaluationPeriods": 3, "DatapointsToAlarm": 2, "TreatMissingData": "notBreaching",
		})
	})
	t.Run("thresholds", func(t *testing.T) {
		x.has(t, "AWS::CloudWatch::Alarm", map[string]any{
			"Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_ELB_5XX_Count", "Statistic": "Sum", "Period": 300,
			"Threshold": 10, "ComparisonOperator": "GreaterThanThreshold",
		})
		x.has(t, "AWS::CloudWatch::Alarm", map[string]any{
			"MetricName": "TargetResponseTime", "ExtendedStatistic": "p95", "Threshold": 2,
			"Dimensions": []any{map[string]any{"Name": "LoadBalancer", "Value": getAtt(logicalID(stack, lbs.Studio), "LoadBalancerFullName")}},
		})
		x.has(t, "AWS::CloudWatch::Alarm", map[string]any{
			"Namespace": "AWS/RDS", "MetricName": "FreeStorageSpace", "Threshold": 2 * 1024 * 1024 * 1024, "ComparisonOperator": "LessThanThreshold",
			"Dimensions": []any{map[string]any{"Name": "DBInstanceIdentifier", "Value": ref(logicalID(stack, dbs.Workers[0].Instance))}},
		})
		x.has(t, "AWS::CloudWatch::Alarm", map[string]any{"Namespace": "AWS/ECS", "MetricName": "MemoryUtilization", "Threshold": 85})
	})
	t.Run("Redis alarms watch the primary member cluster", func(t *testing.T) {
		dims := capture()
		x.has(t, "AWS::CloudWatch::Alarm", map[string]any{"Namespace": "AWS/ElastiCache", "MetricName": "EngineCPUUtilization", "Threshold": 80, "Dimensions": dims})
		d := toMap(t, map[string]any{"d": dims.AsArray()})["d"].([]any)[0].(map[string]any)
		require.Equal(t, "CacheClusterId", d["Name"])
		require.Equal(t, fmt.Sprintf("{Ref:%s}-001", logicalID(stack, rg)), joined(d["Value"]))
	})
	t.Run("one dashboard", func(t *testing.T) {
		x.count(t, "AWS::CloudWatch::Dashboard", 1)
		body := capture()
		x.has(t, "AWS::CloudWatch::Dashboard", map[string]any{"DashboardBody": body})
		text := joined(toMap(t, body.AsObject()))
		for _, title := range []string{"ALB requests", "ALB target 5xx", "Service CPU %", "RDS CPU %", "Alarms"} {
			require.Contains(t, text, `"title":"`+title+`"`)
		}
	})
}
