package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

type KongProps struct {
	ServicesDir   string
	Sizing        config.Service
	Cluster       *Cluster
	LogGroup      awslogs.ILogGroup
	SecurityGroup awsec2.ISecurityGroup
	Targets       elb.ApplicationTargetGroup
	// TaskRole signs the calls to tenant Function URLs.
	TaskRole awsiam.Role
	// Database is Kong's own database (kong on the primary) and Login its
	// rotating login (user name and password).
	Database awsrds.IDatabaseInstance
	Login    awssecretsmanager.ISecret
	Redis    RedisEndpoint
	// PlatformDomain is the domain whose first label names the project ("" =
	// the X-Project-ID header names it).
	PlatformDomain string
	// JwtTTLSeconds and CacheTTLSeconds are the minted JWTs' lifetime and
	// the Redis cache TTL of project configuration.
	JwtTTLSeconds, CacheTTLSeconds int
	// RateLimit is every project's request budget unless the project has
	// its own.
	RateLimit config.RateLimit
	// FunctionsTimeoutSeconds is how long the gateway waits for an edge
	// function.
	FunctionsTimeoutSeconds int
}

// Kong is the API gateway: key-auth and ACL on Kong's database, then the
// dynamic-lambda-router plugin, which mints a short-lived JWT and calls the
// project's PostgREST function with SigV4.
type Kong struct {
	*ContainerService
}

func NewKong(scope constructs.Construct, id string, props *KongProps) *Kong {
	// Function URLs created since October 2025 need both actions.
	props.TaskRole.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("InvokeTenantFunctionUrls"),
		Actions:   jsii.Strings("lambda:InvokeFunctionUrl", "lambda:InvokeFunction"),
		Resources: &[]*string{TenantFunctionsArn(), EdgeFunctionsArn()},
	}))
	suppress(props.TaskRole, suppression{"IAM5", "The gateway calls whichever tenant function a request is for: function:postgrest-* and function:functions-* are the tenant prefixes, not all functions."})
	secret := awsecs.Secret_FromSecretsManager
	svc := NewContainerService(scope, id, &ContainerServiceProps{
		Name: "kong", ServicesDir: props.ServicesDir, Sizing: props.Sizing, Cluster: props.Cluster,
		DiscoveryName: "kong-gateway", SecurityGroup: props.SecurityGroup, Ports: []int{PortKongProxy, PortKongAdmin},
		LogGroup: props.LogGroup, TaskRole: props.TaskRole, Targets: props.Targets,
		Environment: map[string]*string{
			"KONG_PG_HOST":     props.Database.DbInstanceEndpointAddress(),
			"KONG_PG_PORT":     props.Database.DbInstanceEndpointPort(),
			"KONG_PG_DATABASE": jsii.String("kong"),
			// The tenant-manager's internal port: no load balancer reaches it.
			"TENANT_MANAGER_URL":        Discovery("tenant-manager", PortConfig),
			"STS_ENDPOINT":              STSEndpoint(),
			"AWS_REGION":                awscdk.Aws_REGION(),
			"KONG_REDIS_HOST":           props.Redis.Host,
			"KONG_REDIS_PORT":           props.Redis.Port,
			"PLATFORM_DOMAIN":           jsii.String(props.PlatformDomain),
			"JWT_TTL_SECONDS":           num(props.JwtTTLSeconds),
			"CACHE_TTL_SECONDS":         num(props.CacheTTLSeconds),
			"RATE_LIMIT_RPS":            num(props.RateLimit.RPS),
			"RATE_LIMIT_BURST":          num(props.RateLimit.Burst),
			"FUNCTIONS_TIMEOUT_SECONDS": num(props.FunctionsTimeoutSeconds),
			// Kong's default (0) caches consumers and keys forever and
			// relies on invalidation events from its database: if those
			// ever stop, a revoked key would keep working. This bounds it.
			"KONG_DB_CACHE_TTL": jsii.String("300"),
		},
		Secrets: map[string]awsecs.Secret{
			"KONG_PG_USER":        secret(props.Login, jsii.String("username")),
			"KONG_PG_PASSWORD":    secret(props.Login, jsii.String("password")),
			"KONG_REDIS_PASSWORD": secret(props.Redis.AuthToken, nil),
		},
		HealthCheck: []string{"CMD", "kong", "health"},
	})
	return &Kong{ContainerService: svc}
}
