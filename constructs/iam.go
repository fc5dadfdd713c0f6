package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

type IamProps struct {
	// PostgrestRepository holds the tenant Lambda image.
	PostgrestRepository awsecr.IRepository
	// WorkerSecrets are the worker masters' secrets the tenant-manager reads.
	WorkerSecrets []awssecretsmanager.ISecret
}

// Iam holds the platform's least-privilege roles: the Kong and
// tenant-manager task roles and the tenant Lambda execution role.
type Iam struct {
	constructs.Construct
	KongTaskRole          awsiam.Role
	TenantManagerTaskRole awsiam.Role
	TenantLambdaRole      awsiam.Role
}

// tenantFunctionsArn is every tenant function: postgrest-*.
func tenantFunctionsArn() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":lambda:"), awscdk.Aws_REGION(),
		jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":function:postgrest-*"),
	})
}

func NewIam(scope constructs.Construct, id string, props *IamProps) *Iam {
	this := constructs.NewConstruct(scope, jsii.String(id))
	ecsTasks := awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil)

	kong := awsiam.NewRole(this, jsii.String("KongTaskRole"), &awsiam.RoleProps{
		AssumedBy:   ecsTasks,
		Description: jsii.String("Supabase platform: Kong tasks sign calls to tenant Function URLs"),
	})
	// Function URLs created since October 2025 need both actions.
	kong.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("InvokeTenantFunctionUrls"),
		Actions:   jsii.Strings("lambda:InvokeFunctionUrl", "lambda:InvokeFunction"),
		Resources: &[]*string{tenantFunctionsArn()},
	}))

	lambdaRole := awsiam.NewRole(this, jsii.String("TenantLambdaRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Supabase platform: execution role of every tenant PostgREST function"),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSLambdaVPCAccessExecutionRole")),
		},
	})
	suppress(lambdaRole, suppression{"IAM4", "AWSLambdaVPCAccessExecutionRole is the AWS-managed policy for VPC functions: its ENI actions have no resource-level permissions."})

	tm := awsiam.NewRole(this, jsii.String("TenantManagerTaskRole"), &awsiam.RoleProps{
		AssumedBy:   ecsTasks,
		Description: jsii.String("Supabase platform: tenant-manager tasks create and delete tenant functions"),
	})
	tm.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ManageTenantFunctions"),
		Actions: jsii.Strings(
			"lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:GetFunctionConfiguration",
			"lambda:UpdateFunctionConfiguration", "lambda:CreateFunctionUrlConfig", "lambda:DeleteFunctionUrlConfig",
			"lambda:GetFunctionUrlConfig", "lambda:TagResource", "lambda:ListTags",
		),
		Resources: &[]*string{tenantFunctionsArn()},
	}))
	tm.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("PassTenantLambdaRole"),
		Actions:    jsii.Strings("iam:PassRole"),
		Resources:  &[]*string{lambdaRole.RoleArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "lambda.amazonaws.com"}},
	}))
	// CreateFunction checks that the caller may read the image. The Lambda
	// service pulls it under the CDK asset repository's own policy
	// (LambdaECRImageRetrievalPolicy, in the bootstrap template the stack
	// requires), so no repository policy is ever written: that repository
	// is shared by every CDK app in the account.
	tm.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadPostgrestImage"),
		Actions:   jsii.Strings("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
		Resources: &[]*string{props.PostgrestRepository.RepositoryArn()},
	}))
	// CreateFunction with a VPC configuration checks the subnets and
	// groups; these describe calls have no resource-level permissions.
	tm.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DescribeTenantFunctionNetwork"),
		Actions:   jsii.Strings("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"),
		Resources: jsii.Strings("*"),
	}))
	for _, s := range props.WorkerSecrets {
		s.GrantRead(tm, nil)
	}
	suppress(tm, suppression{"IAM5", "Tenant functions are created at run time, so the Lambda actions name function:postgrest-* (the tenant prefix, not all functions); ec2:Describe* (needed to validate a function's VPC settings) has no resource-level permissions; secret grants end in -?????? for the secret ARN's random suffix."})
	suppress(kong, suppression{"IAM5", "The gateway calls whichever tenant function a request is for: function:postgrest-* is the tenant prefix, not all functions."})
	return &Iam{Construct: this, KongTaskRole: kong, TenantManagerTaskRole: tm, TenantLambdaRole: lambdaRole}
}
