package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

// The roles are created bare: each is granted what it uses by the
// construct that uses it.
func TestIAM(t *testing.T) {
	stack := newStack(t)
	roles := NewIAM(stack, "Iam", &IAMProps{})
	awscdk.NewCfnOutput(stack, jsii.String("Functions"), &awscdk.CfnOutputProps{Value: TenantFunctionsArn()})
	x := synth(t, stack)
	trust := func(service string) map[string]any {
		return map[string]any{"Statement": []any{map[string]any{
			"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": service},
		}}, "Version": "2012-10-17"}
	}

	x.count(t, "AWS::IAM::Role", 4)
	x.count(t, "AWS::IAM::Policy", 0)
	for _, r := range []awscdk.Resource{roles.KongTaskRole, roles.TenantManagerTaskRole} {
		require.Equal(t, toJSON(trust("ecs-tasks.amazonaws.com")), toJSON(props(x.resource(t, logicalID(stack, r)))["AssumeRolePolicyDocument"]))
		require.Nil(t, props(x.resource(t, logicalID(stack, r)))["ManagedPolicyArns"])
	}
	// PostgREST's role: VPC access and logs, nothing else.
	x.countWith(t, "AWS::IAM::Role", map[string]any{
		"AssumeRolePolicyDocument": trust("lambda.amazonaws.com"),
		"ManagedPolicyArns": []any{map[string]any{"Fn::Join": []any{"", []any{
			"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
		}}}},
		"Policies": absent(),
	}, 1)
	// The edge functions' role runs tenant code: its own log groups and
	// the VPC's network interfaces, no managed policy.
	edge := props(x.resource(t, logicalID(stack, roles.EdgeFunctionsRole)))
	require.Nil(t, edge["ManagedPolicyArns"])
	policy := toJSON(edge["Policies"])
	require.Contains(t, policy, ":log-group:/aws/lambda/functions-*")
	require.NotContains(t, policy, "logs:*")
	for _, a := range []string{"s3:", "secretsmanager:", "lambda:", "sts:", "kms:", "iam:"} {
		require.NotContains(t, policy, a, "tenant code gets no %s permission", a)
	}
	// Running tenant functions and the tenant-manager's caller checks hold
	// these roles' ARNs: the logical ids are part of the contract.
	require.Regexp(t, `^IamKongTaskRole[0-9A-F]{8}$`, logicalID(stack, roles.KongTaskRole))
	require.Regexp(t, `^IamTenantManagerTaskRole[0-9A-F]{8}$`, logicalID(stack, roles.TenantManagerTaskRole))
	require.Regexp(t, `^IamTenantLambdaRole[0-9A-F]{8}$`, logicalID(stack, roles.TenantLambdaRole))
	require.Regexp(t, `^IamEdgeFunctionsRole[0-9A-F]{8}$`, logicalID(stack, roles.EdgeFunctionsRole))
	x.hasOutput(t, "Functions", map[string]any{"Value": anyValue()})
	require.Equal(t, tenantFunctionsArnText, joined(toMap(t, x.ToJSON())["Outputs"].(map[string]any)["Functions"].(map[string]any)["Value"]))
}
