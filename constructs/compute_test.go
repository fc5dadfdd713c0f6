package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

func TestCompute(t *testing.T) {
	stack := newStack(t)
	NewCompute(stack, "Compute", &ComputeProps{LogRetention: awslogs.RetentionDays_ONE_MONTH})
	awscdk.NewCfnOutput(stack, jsii.String("Sts"), &awscdk.CfnOutputProps{Value: STSEndpoint()})
	x := synth(t, stack)

	t.Run("one retained log group for every service", func(t *testing.T) {
		x.count(t, "AWS::Logs::LogGroup", 1)
		x.hasResource(t, "AWS::Logs::LogGroup", map[string]any{
			"DeletionPolicy": "Retain",
			"Properties":     map[string]any{"LogGroupName": "/ecs/supabase", "RetentionInDays": 30},
		})
	})
	t.Run("service URLs in kong.local", func(t *testing.T) {
		require.Equal(t, "http://tenant-manager.kong.local:8081", *Discovery("tenant-manager", PortConfig))
	})
	t.Run("the regional STS endpoint", func(t *testing.T) {
		sts := capture()
		x.hasOutput(t, "Sts", map[string]any{"Value": sts})
		require.Equal(t, "https://sts.{Ref:AWS::Region}.{Ref:AWS::URLSuffix}", joined(toMap(t, sts.AsObject())))
	})
}
