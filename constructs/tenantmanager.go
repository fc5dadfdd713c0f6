package platform

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

// WorkerEndpoint is a worker instance as the tenant-manager is told about
// it: where it is and its master secret's ARN (read at run time, never a
// password in the environment).
type WorkerEndpoint struct {
	ID         string
	Instance   awsrds.DatabaseInstance
	MaxTenants int
}

// TenantFunctionSettings are what every tenant PostgREST function is
// created with.
type TenantFunctionSettings struct {
	ImageURI *string
	// ImageRepository holds the image; CreateFunction checks that the
	// caller may read it.
	ImageRepository awsecr.IRepository
	Role            awsiam.IRole
	SubnetIDs       *string // comma-separated
	SecurityGroup   awsec2.ISecurityGroup
	MemoryMiB       int
	TimeoutSeconds  int
	// ReservedConcurrency is set on every new function (nil: none).
	ReservedConcurrency *int
	// LogRetentionDays is the retention of the log group the
	// tenant-manager creates for each function; RetainLogGroup keeps it
	// after the tenant.
	LogRetentionDays int
	RetainLogGroup   bool
}

// EdgeFunctionSettings are what every project's functions Lambda is
// created with, and where the bundles are kept.
type EdgeFunctionSettings struct {
	ImageURI            *string
	ImageRepository     awsecr.IRepository
	Role                awsiam.IRole
	Bundles             awss3.IBucket
	MemoryMiB           int
	TimeoutSeconds      int
	ReservedConcurrency *int
	KeepVersions        int
	// ProjectURL is SUPABASE_URL for functions, "{ref}" standing for the
	// project id.
	ProjectURL *string
	// SecurityGroup is the functions Lambdas' own group.
	SecurityGroup awsec2.ISecurityGroup
}

// TenantDatabaseSettings are the guards the tenant-manager applies inside
// each tenant database.
type TenantDatabaseSettings struct {
	ConnectionLimit                      int
	AnonStatementTimeoutSeconds          int
	AuthenticatedStatementTimeoutSeconds int
	ServiceRoleStatementTimeoutSeconds   int
}

type TenantManagerProps struct {
	ServicesDir   string
	Sizing        config.Service
	Cluster       *Cluster
	LogGroup      awslogs.ILogGroup
	SecurityGroup awsec2.ISecurityGroup
	Targets       elb.ApplicationTargetGroup
	TaskRole      awsiam.Role
	// Platform is the primary, which holds supabase_platform, and
	// PlatformLogin the rotating tenant_manager login (read at run time).
	Platform      awsrds.IDatabaseInstance
	PlatformLogin awssecretsmanager.ISecret
	Workers       []WorkerEndpoint
	Redis         RedisEndpoint
	Functions     TenantFunctionSettings
	Databases     TenantDatabaseSettings
	EdgeFunctions EdgeFunctionSettings
	// AlarmTopic receives each project's alarms, Alarms says which.
	AlarmTopic awssns.ITopic
	Alarms     config.TenantAlarms
	// JwtTTLSeconds and GatewayCacheTTLSeconds are the gateway's: the JWT
	// rotation overlap is derived from them.
	JwtTTLSeconds, GatewayCacheTTLSeconds int
	// GatewayRole is the role whose sessions may read /config.
	GatewayRole               awsiam.IRole
	AdminToken, EncryptionKey awssecretsmanager.ISecret
}

// TenantManager is the control plane: it provisions tenants (database,
// PostgREST function, gateway consumers) and serves the management API on
// PortService and the internal configuration API on PortConfig.
type TenantManager struct {
	*ContainerService
}

func NewTenantManager(scope constructs.Construct, id string, props *TenantManagerProps) *TenantManager {
	role, fns := props.TaskRole, props.Functions
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ManageTenantFunctions"),
		Actions: jsii.Strings(
			"lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:GetFunctionConfiguration",
			"lambda:UpdateFunctionConfiguration", "lambda:UpdateFunctionCode", "lambda:CreateFunctionUrlConfig",
			"lambda:DeleteFunctionUrlConfig", "lambda:GetFunctionUrlConfig", "lambda:UpdateFunctionUrlConfig",
			"lambda:TagResource", "lambda:ListTags",
			"lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency", "lambda:GetFunctionConcurrency",
		),
		Resources: &[]*string{TenantFunctionsArn()},
	}))
	// Each function's log group is made before the function, so Lambda
	// never creates it without a retention, and goes with the tenant.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ManageTenantFunctionLogGroups"),
		Actions: jsii.Strings(
			"logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:TagResource", "logs:TagLogGroup",
		),
		Resources: &[]*string{TenantFunctionLogGroupsArn()},
	}))
	edge := props.EdgeFunctions
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ManageEdgeFunctions"),
		Actions: jsii.Strings(
			"lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:GetFunctionConfiguration",
			"lambda:UpdateFunctionConfiguration", "lambda:UpdateFunctionCode", "lambda:CreateFunctionUrlConfig",
			"lambda:DeleteFunctionUrlConfig", "lambda:GetFunctionUrlConfig", "lambda:UpdateFunctionUrlConfig", "lambda:TagResource", "lambda:ListTags",
			"lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency", "lambda:GetFunctionConcurrency",
		),
		Resources: &[]*string{EdgeFunctionsArn()},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("PassEdgeFunctionsRole"),
		Actions:    jsii.Strings("iam:PassRole"),
		Resources:  &[]*string{edge.Role.RoleArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "lambda.amazonaws.com"}},
	}))
	// Bundles are written and deleted by the tenant-manager; functions
	// read theirs through URLs it presigns.
	edge.Bundles.GrantReadWrite(role, nil)
	edge.Bundles.GrantDelete(role, nil)
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("PassTenantLambdaRole"),
		Actions:    jsii.Strings("iam:PassRole"),
		Resources:  &[]*string{fns.Role.RoleArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "lambda.amazonaws.com"}},
	}))
	// Each project's alarms are named supabase-tenant-{id}-{kind}; usage
	// is read from the gateway's metrics. Listing alarms and reading
	// metric data have no resource-level permissions.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ManageTenantAlarms"),
		Actions:   jsii.Strings("cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource"),
		Resources: &[]*string{TenantAlarmsArn()},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadAlarmsAndMetrics"),
		Actions:   jsii.Strings("cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData"),
		Resources: jsii.Strings("*"),
	}))
	// CreateFunction checks that the caller may read the image. The Lambda
	// service pulls it under the CDK asset repository's own policy
	// (LambdaECRImageRetrievalPolicy, in the bootstrap template the stack
	// requires), so no repository policy is ever written: that repository
	// is shared by every CDK app in the account.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadFunctionImages"),
		Actions:   jsii.Strings("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
		Resources: uniqueStrings(fns.ImageRepository.RepositoryArn(), edge.ImageRepository.RepositoryArn()),
	}))
	// CreateFunction with a VPC configuration checks the subnets and
	// groups; these describe calls have no resource-level permissions.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DescribeTenantFunctionNetwork"),
		Actions:   jsii.Strings("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"),
		Resources: jsii.Strings("*"),
	}))
	// The workers' master secrets and the platform login rotate, so they
	// are read at run time rather than injected at task start.
	var workers []any
	for _, w := range props.Workers {
		w.Instance.Secret().GrantRead(role, nil)
		workers = append(workers, map[string]any{
			"id": w.ID, "host": w.Instance.DbInstanceEndpointAddress(), "port": w.Instance.DbInstanceEndpointPort(),
			"secretArn": w.Instance.Secret().SecretArn(), "sslmode": "require", "maxTenants": w.MaxTenants,
		})
	}
	suppress(role, suppression{"IAM5", "Tenant functions, their log groups and alarms are created at run time, so those actions name the tenant prefixes (function:postgrest-*, function:functions-*, log-group:/aws/lambda/postgrest-*, alarm:supabase-tenant-*), not all resources; the bundle bucket's grant covers its objects (bucket/*), which are the projects' bundles; ec2:Describe* (needed to validate a function's VPC settings), cloudwatch:DescribeAlarms and cloudwatch:GetMetricData have no resource-level permissions; secret grants end in -?????? for the secret ARN's random suffix."})

	str := jsii.String
	secret := awsecs.Secret_FromSecretsManager
	// 0 tells the tenant-manager to reserve nothing.
	reserved := str("0")
	if fns.ReservedConcurrency != nil {
		reserved = num(*fns.ReservedConcurrency)
	}
	edgeReserved := str("0")
	if edge.ReservedConcurrency != nil {
		edgeReserved = num(*edge.ReservedConcurrency)
	}
	logGroupOnDelete := "delete"
	if fns.RetainLogGroup {
		logGroupOnDelete = "retain"
	}
	svc := NewContainerService(scope, id, &ContainerServiceProps{
		Name: "tenant-manager", ServicesDir: props.ServicesDir, Sizing: props.Sizing, Cluster: props.Cluster,
		DiscoveryName: "tenant-manager", SecurityGroup: props.SecurityGroup, Ports: []int{PortService, PortConfig},
		LogGroup: props.LogGroup, TaskRole: role, Targets: props.Targets,
		Environment: map[string]*string{
			"PLATFORM_DATABASE_URL": awscdk.Fn_Join(str(""), &[]*string{
				str("postgres://"), props.Platform.DbInstanceEndpointAddress(), str(":"), props.Platform.DbInstanceEndpointPort(), str("/supabase_platform?sslmode=require"),
			}),
			"PLATFORM_DATABASE_SECRET_ARN":           props.PlatformLogin.SecretArn(),
			"WORKERS":                                awscdk.Stack_Of(scope).ToJsonString(workers, nil),
			"KONG_ADMIN_URL":                         Discovery("kong-gateway", PortKongAdmin),
			"REDIS_URL":                              awscdk.Fn_Join(str(""), &[]*string{str("rediss://"), props.Redis.Host, str(":"), props.Redis.Port, str("/0")}),
			"POSTGREST_IMAGE_URI":                    fns.ImageURI,
			"TENANT_LAMBDA_ROLE_ARN":                 fns.Role.RoleArn(),
			"TENANT_LAMBDA_SUBNET_IDS":               fns.SubnetIDs,
			"TENANT_LAMBDA_SECURITY_GROUP_IDS":       fns.SecurityGroup.SecurityGroupId(),
			"TENANT_LAMBDA_MEMORY_MIB":               num(fns.MemoryMiB),
			"TENANT_LAMBDA_TIMEOUT_SECONDS":          num(fns.TimeoutSeconds),
			"TENANT_LAMBDA_RESERVED_CONCURRENCY":     reserved,
			"TENANT_LOG_RETENTION_DAYS":              num(fns.LogRetentionDays),
			"TENANT_LOG_GROUP_ON_DELETE":             str(logGroupOnDelete),
			"TENANT_DB_CONNECTION_LIMIT":             num(props.Databases.ConnectionLimit),
			"TENANT_ANON_STATEMENT_TIMEOUT":          str(fmt.Sprintf("%ds", props.Databases.AnonStatementTimeoutSeconds)),
			"TENANT_AUTHENTICATED_STATEMENT_TIMEOUT": str(fmt.Sprintf("%ds", props.Databases.AuthenticatedStatementTimeoutSeconds)),
			"TENANT_SERVICE_ROLE_STATEMENT_TIMEOUT":  str(fmt.Sprintf("%ds", props.Databases.ServiceRoleStatementTimeoutSeconds)),
			"ALARM_TOPIC_ARN":                        props.AlarmTopic.TopicArn(),
			"TENANT_ALARMS":                          str(alarmKinds(props.Alarms.Kinds)),
			"TENANT_ALARM_5XX_THRESHOLD":             num(props.Alarms.Gateway5xxThreshold),
			"TENANT_ALARM_ERRORS_THRESHOLD":          num(props.Alarms.LambdaErrorsThreshold),
			"TENANT_ALARM_THROTTLES_THRESHOLD":       num(props.Alarms.LambdaThrottlesThreshold),
			"TENANT_ALARM_DURATION_RATIO":            str(strconv.FormatFloat(props.Alarms.LambdaDurationRatio, 'f', -1, 64)),
			"GATEWAY_METRICS_NAMESPACE":              str(GatewayNamespace),
			// The Go runtime collects harder before the task's memory is
			// used up, rather than being killed by it.
			"FUNCTIONS_BUCKET":                      edge.Bundles.BucketName(),
			"FUNCTIONS_IMAGE_URI":                   edge.ImageURI,
			"FUNCTIONS_LAMBDA_ROLE_ARN":             edge.Role.RoleArn(),
			"FUNCTIONS_LAMBDA_MEMORY_MIB":           num(edge.MemoryMiB),
			"FUNCTIONS_LAMBDA_TIMEOUT_SECONDS":      num(edge.TimeoutSeconds),
			"FUNCTIONS_LAMBDA_RESERVED_CONCURRENCY": edgeReserved,
			"FUNCTIONS_KEEP_VERSIONS":               num(edge.KeepVersions),
			"FUNCTIONS_PROJECT_URL":                 edge.ProjectURL,
			"FUNCTIONS_LAMBDA_SECURITY_GROUP_IDS":   edge.SecurityGroup.SecurityGroupId(),
			"GOMEMLIMIT":                            str(fmt.Sprintf("%dMiB", props.Sizing.MemoryMiB*8/10)),
			"CONFIG_SERVICE_URL":                    Discovery("tenant-manager", PortConfig),
			"LISTEN_ADDR":                           str(fmt.Sprintf(":%d", PortService)),
			"INTERNAL_LISTEN_ADDR":                  str(fmt.Sprintf(":%d", PortConfig)),
			"GATEWAY_ROLE_ARN":                      props.GatewayRole.RoleArn(),
			"GATEWAY_CACHE_TTL_SECONDS":             num(props.GatewayCacheTTLSeconds),
			"JWT_ROTATION_OVERLAP_SECONDS":          num(RotationOverlapSeconds(props.JwtTTLSeconds, props.GatewayCacheTTLSeconds)),
			"STS_ENDPOINT":                          STSEndpoint(),
			"AWS_REGION":                            awscdk.Aws_REGION(),
		},
		Secrets: map[string]awsecs.Secret{
			"REDIS_PASSWORD": secret(props.Redis.AuthToken, nil),
			"ADMIN_TOKEN":    secret(props.AdminToken, nil),
			"ENCRYPTION_KEY": secret(props.EncryptionKey, nil),
		},
		HealthCheck: []string{"CMD", "/usr/local/bin/tenant-manager", "healthcheck"},
	})
	props.PlatformLogin.GrantRead(role, nil)
	return &TenantManager{ContainerService: svc}
}

// uniqueStrings drops repeats of the same token: both images are usually
// in the one CDK asset repository.
func uniqueStrings(values ...*string) *[]*string {
	var out []*string
	seen := map[string]bool{}
	for _, v := range values {
		if !seen[*v] {
			seen[*v] = true
			out = append(out, v)
		}
	}
	return &out
}

// alarmKinds is TENANT_ALARMS: the kinds, or "none".
func alarmKinds(kinds []string) string {
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(kinds, ",")
}

// gatewayMemoryCacheSeconds and gatewayStaleSeconds are the Kong plugin's
// per-worker cache lifetime and how long it serves that copy while Redis
// is down (its defaults).
const gatewayMemoryCacheSeconds, gatewayStaleSeconds = 30, 300

// RotationOverlapSeconds is how long PostgREST must keep accepting a
// replaced JWT secret: the gateway may still mint with it until its Redis
// copy expires (a failed write-through leaves it there), its worker cache
// expires, and a Redis outage right after ends its stale window; a token
// minted then lives jwtTTL more. A minute of margin on top.
func RotationOverlapSeconds(jwtTTL, cacheTTL int) int {
	return cacheTTL + gatewayMemoryCacheSeconds + gatewayStaleSeconds + jwtTTL + 60
}
