package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

type IAMProps struct{}

// IAM holds the platform's task and function roles. Each is granted what it
// uses by the construct that uses it (kong.go, tenantmanager.go); they are
// created here, apart from those constructs, because running tenant
// functions and the tenant-manager's caller checks hold their ARNs: their
// logical ids must never change.
type IAM struct {
	constructs.Construct
	KongTaskRole          awsiam.Role
	TenantManagerTaskRole awsiam.Role
	TenantLambdaRole      awsiam.Role
	// EdgeFunctionsRole runs every project's functions Lambda. It has no
	// permission beyond logs and network interfaces: tenant code runs
	// under it.
	EdgeFunctionsRole awsiam.Role
}

// TenantFunctionsArn is every tenant function: postgrest-*.
func TenantFunctionsArn() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":lambda:"), awscdk.Aws_REGION(),
		jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":function:postgrest-*"),
	})
}

// EdgeFunctionsArn is every project's functions Lambda: functions-*.
func EdgeFunctionsArn() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":lambda:"), awscdk.Aws_REGION(),
		jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":function:functions-*"),
	})
}

// TenantFunctionLogGroupsArn covers the log groups of the tenant
// functions, and their streams.
func TenantFunctionLogGroupsArn() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":logs:"), awscdk.Aws_REGION(),
		jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":log-group:/aws/lambda/postgrest-*"),
	})
}

// TenantAlarmsArn covers the alarms the tenant-manager makes per project.
func TenantAlarmsArn() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":cloudwatch:"), awscdk.Aws_REGION(),
		jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":alarm:supabase-tenant-*"),
	})
}

func NewIAM(scope constructs.Construct, id string, props *IAMProps) *IAM {
	this := constructs.NewConstruct(scope, jsii.String(id))
	ecsTasks := awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil)
	kong := awsiam.NewRole(this, jsii.String("KongTaskRole"), &awsiam.RoleProps{
		AssumedBy:   ecsTasks,
		Description: jsii.String("Supabase platform: Kong tasks sign calls to tenant Function URLs"),
	})
	lambdaRole := awsiam.NewRole(this, jsii.String("TenantLambdaRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Supabase platform: execution role of every tenant PostgREST function"),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("service-role/AWSLambdaVPCAccessExecutionRole")),
		},
	})
	suppress(lambdaRole, suppression{"IAM4", "AWSLambdaVPCAccessExecutionRole is the AWS-managed policy for VPC functions: its ENI actions have no resource-level permissions."})
	// Tenant code runs under this role: it may write only the functions'
	// own log groups (not the platform's, whose access log feeds
	// per-project metrics and usage), and manage the network interfaces
	// Lambda puts functions in the VPC with.
	edgeLogs := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":logs:"), awscdk.Aws_REGION(),
		jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":log-group:/aws/lambda/functions-*"),
	})
	edgeRole := awsiam.NewRole(this, jsii.String("EdgeFunctionsRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Supabase platform: execution role of every project's edge functions (tenant code): its logs and network only"),
		InlinePolicies: &map[string]awsiam.PolicyDocument{"FunctionLogsAndNetwork": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
			Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("OwnLogGroups"),
					Actions:   jsii.Strings("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
					Resources: &[]*string{edgeLogs},
				}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid: jsii.String("VpcNetworkInterfaces"),
					Actions: jsii.Strings("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
						"ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
					Resources: jsii.Strings("*"),
				}),
			},
		})},
	})
	suppress(edgeRole, suppression{"IAM5", "Lambda attaches VPC functions through network interfaces whose actions have no resource-level permissions; logs are limited to the functions' own log groups (log-group:/aws/lambda/functions-*)."})
	tm := awsiam.NewRole(this, jsii.String("TenantManagerTaskRole"), &awsiam.RoleProps{
		AssumedBy:   ecsTasks,
		Description: jsii.String("Supabase platform: tenant-manager tasks create and delete tenant functions"),
	})
	return &IAM{Construct: this, KongTaskRole: kong, TenantManagerTaskRole: tm, TenantLambdaRole: lambdaRole, EdgeFunctionsRole: edgeRole}
}
