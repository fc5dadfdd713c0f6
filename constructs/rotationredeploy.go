package platform

import (
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// SecretConsumer is a rotating secret and the ECS services that ECS gives
// it at task start.
type SecretConsumer struct {
	Secret   awssecretsmanager.ISecret
	Services []awsecs.FargateService
}

type RotationRedeployProps struct {
	// Image is the db-admin image: the same binary handles the events.
	Image        awsecrassets.DockerImageAsset
	Cluster      awsecs.ICluster
	Consumers    []SecretConsumer
	LogRetention awslogs.RetentionDays
	// AlarmAction is told when a redeploy failed or an event could not be
	// delivered: a task would then keep a login the next rotation ends.
	AlarmAction awscloudwatch.IAlarmAction
}

// RotationRedeploy starts a rolling deployment of a secret's consumers each
// time the secret has rotated (Secrets Manager's RotationSucceeded event).
// ECS reads a task's secrets only when the task starts; a multi-user
// rotation keeps the previous login valid until the rotation after next, so
// redeploying after every rotation means no task ever holds a dead login.
type RotationRedeploy struct {
	constructs.Construct
	Function awslambda.DockerImageFunction
	Rule     awsevents.Rule
}

func NewRotationRedeploy(scope constructs.Construct, id string, props *RotationRedeployProps) *RotationRedeploy {
	this := constructs.NewConstruct(scope, jsii.String(id))
	consumers := map[string]any{}
	var serviceArns []*string
	for _, c := range props.Consumers {
		var refs []any
		for _, s := range c.Services {
			refs = append(refs, map[string]any{"cluster": props.Cluster.ClusterArn(), "service": s.ServiceName()})
			serviceArns = append(serviceArns, s.ServiceArn())
		}
		consumers[*c.Secret.SecretArn()] = refs
	}
	logs := awslogs.NewLogGroup(this, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     props.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// It calls only the ECS API, so it needs no VPC.
	fn := awslambda.NewDockerImageFunction(this, jsii.String("Function"), &awslambda.DockerImageFunctionProps{
		Description:  jsii.String("Supabase platform: redeploys the ECS services that use a database secret after it rotates"),
		Code:         awslambda.DockerImageCode_FromEcr(props.Image.Repository(), &awslambda.EcrImageCodeProps{TagOrDigest: props.Image.ImageTag()}),
		Architecture: awslambda.Architecture_X86_64(),
		MemorySize:   jsii.Number(128),
		Timeout:      awscdk.Duration_Minutes(jsii.Number(1)),
		LogGroup:     logs,
		Environment: &map[string]*string{
			"ROTATION_CONSUMERS": awscdk.Stack_Of(this).ToJsonString(consumers, nil),
			// The function also serves admin operations when invoked
			// directly; this copy knows no instance, so those fail.
			"INSTANCES": jsii.String(`{"none": ""}`),
		},
		RetryAttempts: jsii.Number(2),
	})
	sort.Slice(serviceArns, func(i, j int) bool { return *serviceArns[i] < *serviceArns[j] })
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("RedeployConsumers"),
		Actions:   jsii.Strings("ecs:UpdateService"),
		Resources: &serviceArns,
	}))
	rule := awsevents.NewRule(this, jsii.String("RotationSucceeded"), &awsevents.RuleProps{
		Description: jsii.String("Supabase platform: a database secret that ECS tasks use has rotated"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.secretsmanager"),
			DetailType: jsii.Strings("AWS Service Event via CloudTrail"),
			// Matched by event name only: the function itself picks the
			// secrets it knows, so a change in how CloudTrail names the
			// secret cannot silently skip a redeploy.
			Detail: &map[string]any{"eventName": []string{"RotationSucceeded"}},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			RetryAttempts: jsii.Number(8),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(2)),
		})},
	})
	// Secrets Manager rotates a secret as soon as its schedule exists: the
	// rule and its permission must be there first, or the first rotation's
	// event finds no one and that redeploy never happens.
	for _, c := range props.Consumers {
		if schedule := c.Secret.Node().TryFindChild(jsii.String("RotationSchedule")); schedule != nil {
			schedule.Node().AddDependency(rule, fn)
		}
	}
	five := awscdk.Duration_Minutes(jsii.Number(5))
	for _, a := range []struct {
		id, what string
		metric   awscloudwatch.IMetric
	}{
		{"Errors", "a redeploy after a database secret rotation failed (after retries)", fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")})},
		{"FailedInvocations", "a secret rotation event could not be delivered to the redeploy function", awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/Events"), MetricName: jsii.String("FailedInvocations"),
			DimensionsMap: &map[string]*string{"RuleName": rule.RuleName()}, Period: five, Statistic: jsii.String("Sum"),
		})},
	} {
		alarm := awscloudwatch.NewAlarm(this, jsii.String(a.id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String("Supabase platform: " + a.what + "; tasks may hold a login the next rotation ends: force a new deployment of Kong and postgres-meta"),
			Metric:             a.metric,
			Threshold:          jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		if props.AlarmAction != nil {
			alarm.AddAlarmAction(props.AlarmAction)
		}
	}
	// CDK makes the function depend on its role, which its Role GetAtt
	// already does; cfn-lint reports that as W3005.
	fn.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("cfn-lint"),
		map[string]any{"config": map[string]any{"ignore_checks": []string{"W3005"}}})
	suppress(fn, suppression{"IAM4", "AWSLambdaBasicExecutionRole is AWS-managed and only writes this function's logs."})
	return &RotationRedeploy{Construct: this, Function: fn, Rule: rule}
}
