package platform

import (
	"sort"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

func TestRotationRedeploy(t *testing.T) {
	stack := newStack(t)
	cluster := awsecs.NewCluster(stack, jsii.String("Cluster"), &awsecs.ClusterProps{Vpc: importedVpc(stack)})
	kongLogin := awssecretsmanager.NewSecret(stack, jsii.String("KongLogin"), nil)
	metaLogin := awssecretsmanager.NewSecret(stack, jsii.String("MetaLogin"), nil)
	kong, kong2, meta := testService(stack, "Kong", cluster), testService(stack, "Kong2", cluster), testService(stack, "Meta", cluster)
	r := NewRotationRedeploy(stack, "RotationRedeploy", &RotationRedeployProps{
		Image:   awsecrassets.NewDockerImageAsset(stack, jsii.String("Image"), &awsecrassets.DockerImageAssetProps{Directory: jsii.String(servicesDir + "/db-admin")}),
		Cluster: cluster,
		Consumers: []SecretConsumer{
			{Secret: kongLogin, Services: []awsecs.FargateService{kong, kong2}},
			{Secret: metaLogin, Services: []awsecs.FargateService{meta}},
		},
		LogRetention: awslogs.RetentionDays_ONE_WEEK,
	})
	x := synth(t, stack)
	fn := logicalID(stack, r.Function)
	svc := func(s awsecs.FargateService) string { return logicalID(stack, s) }

	t.Run("knows each secret's consumers", func(t *testing.T) {
		env := props(x.resource(t, fn))["Environment"].(map[string]any)["Variables"].(map[string]any)
		require.Equal(t, `{"none": ""}`, env["INSTANCES"])
		clusterRef := "{GetAtt:" + logicalID(stack, cluster) + ".Arn}"
		consumers := joined(env["ROTATION_CONSUMERS"])
		require.Contains(t, consumers, `"{Ref:`+logicalID(stack, kongLogin)+`}":[{"cluster":"`+clusterRef+`","service":"{GetAtt:`+svc(kong)+`.Name}"},{"cluster":"`+clusterRef+`","service":"{GetAtt:`+svc(kong2)+`.Name}"}]`)
		require.Contains(t, consumers, `"{Ref:`+logicalID(stack, metaLogin)+`}":[{"cluster":"`+clusterRef+`","service":"{GetAtt:`+svc(meta)+`.Name}"}]`)
	})
	t.Run("outside the VPC, small, retried", func(t *testing.T) {
		x.has(t, "AWS::Lambda::Function", map[string]any{"PackageType": "Image", "MemorySize": 128, "Timeout": 60, "VpcConfig": absent()})
		x.has(t, "AWS::Lambda::EventInvokeConfig", map[string]any{"FunctionName": ref(fn), "MaximumRetryAttempts": 2})
	})
	t.Run("may update exactly its consumer services", func(t *testing.T) {
		statements := capture()
		x.has(t, "AWS::IAM::Policy", map[string]any{
			"Roles":          []any{ref(logicalID(stack, r.Function.Role()))},
			"PolicyDocument": like(map[string]any{"Statement": statements}),
		})
		st := toMap(t, map[string]any{"s": statements.AsArray()})["s"].([]any)
		require.Len(t, st, 1)
		s := st[0].(map[string]any)
		require.Equal(t, "RedeployConsumers", s["Sid"])
		require.Equal(t, "ecs:UpdateService", s["Action"])
		var got []string
		for _, res := range s["Resource"].([]any) {
			got = append(got, joined(res))
		}
		want := []string{"{Ref:" + svc(kong) + "}", "{Ref:" + svc(kong2) + "}", "{Ref:" + svc(meta) + "}"}
		sort.Strings(want)
		require.ElementsMatch(t, want, got)
	})
	t.Run("the RotationSucceeded rule targets the function", func(t *testing.T) {
		target := capture()
		x.has(t, "AWS::Events::Rule", map[string]any{
			"EventPattern": map[string]any{
				"source": []any{"aws.secretsmanager"}, "detail-type": []any{"AWS Service Event via CloudTrail"},
				"detail": map[string]any{"eventName": []any{"RotationSucceeded"}},
			},
			"State": "ENABLED",
			"Targets": []any{like(map[string]any{
				"Arn": target, "RetryPolicy": map[string]any{"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 7200},
			})},
		})
		require.Equal(t, fn, getAttOf(t, target))
		x.has(t, "AWS::Lambda::Permission", map[string]any{
			"Action": "lambda:InvokeFunction", "FunctionName": getAtt(fn, "Arn"), "Principal": "events.amazonaws.com",
			"SourceArn": getAtt(logicalID(stack, r.Rule), "Arn"),
		})
	})
}
