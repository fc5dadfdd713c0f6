package platform

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

type ComputeProps struct {
	Config         config.Config
	ServicesDir    string
	LogRetention   awslogs.RetentionDays
	Cluster        *Cluster
	SecurityGroups *SecurityGroups
	Databases      *Databases
	Cache          *Cache
	Bootstrap      *PlatformBootstrap
	Iam            *Iam
	TenantLambda   *TenantLambda
	Secrets        *PlatformSecrets
	StudioAuth     *StudioAuth
	// PostgresMetaLogin is postgres-meta's own login on the first worker.
	PostgresMetaLogin awssecretsmanager.ISecret
	PrivateSubnets    *string // comma-separated ids, for tenant functions
}

// Compute is the platform's five Fargate services and what each one's
// container is told: hosts and URLs as environment variables, every
// password, token and key from Secrets Manager.
type Compute struct {
	constructs.Construct
	LogGroup                                             awslogs.LogGroup
	Kong, TenantManager, Studio, Functions, PostgresMeta *Service
}

func discovery(name string, port int) *string {
	return jsii.String(fmt.Sprintf("http://%s.%s:%d", name, Namespace, port))
}

func NewCompute(scope constructs.Construct, id string, props *ComputeProps) *Compute {
	this := constructs.NewConstruct(scope, jsii.String(id))
	cfg := props.Config
	c := &Compute{Construct: this}
	c.LogGroup = awslogs.NewLogGroup(this, jsii.String("Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/ecs/supabase"),
		Retention:     props.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	str := func(s string) *string { return jsii.String(s) }
	num := func(n int) *string { return jsii.String(fmt.Sprint(n)) }
	secret := awsecs.Secret_FromSecretsManager
	region := awscdk.Aws_REGION()
	stsEndpoint := awscdk.Fn_Join(str(""), &[]*string{str("https://sts."), region, str("."), awscdk.Aws_URL_SUFFIX()})
	primary := props.Databases.Primary.Instance
	redisHost := props.Cache.ReplicationGroup.AttrPrimaryEndPointAddress()
	redisPort := props.Cache.ReplicationGroup.AttrPrimaryEndPointPort()
	domain := ""
	if cfg.Domain != nil {
		domain = cfg.Domain.Name
	}
	kongProps := &ServiceProps{
		Name: "kong", ServicesDir: props.ServicesDir, Config: cfg.Services.Kong, Cluster: props.Cluster,
		DiscoveryName: "kong-gateway", SecurityGroup: props.SecurityGroups.Kong, Ports: []int{PortKongProxy, PortKongAdmin},
		LogGroup: c.LogGroup, TaskRole: props.Iam.KongTaskRole,
		Environment: map[string]*string{
			"KONG_PG_HOST":       primary.DbInstanceEndpointAddress(),
			"KONG_PG_PORT":       primary.DbInstanceEndpointPort(),
			"KONG_PG_DATABASE":   str("kong"),
			"TENANT_MANAGER_URL": discovery("tenant-manager", PortConfig),
			"FUNCTIONS_URL":      discovery("functions-service", PortService),
			"STS_ENDPOINT":       stsEndpoint,
			"AWS_REGION":         region,
			"KONG_REDIS_HOST":    redisHost,
			"KONG_REDIS_PORT":    redisPort,
			"PLATFORM_DOMAIN":    str(domain),
			"JWT_TTL_SECONDS":    num(cfg.Gateway.JwtTTLSeconds),
			"CACHE_TTL_SECONDS":  num(cfg.Gateway.CacheTTLSeconds),
			// Kong's default (0) caches consumers and keys forever and
			// relies on invalidation events from its database: if those
			// ever stop, a revoked key would keep working. This bounds it.
			"KONG_DB_CACHE_TTL": str("300"),
		},
		Secrets: map[string]awsecs.Secret{
			"KONG_PG_USER":        secret(props.Bootstrap.KongSecret, str("username")),
			"KONG_PG_PASSWORD":    secret(props.Bootstrap.KongSecret, str("password")),
			"KONG_REDIS_PASSWORD": secret(props.Cache.AuthToken, nil),
		},
		HealthCheck: []string{"CMD", "kong", "health"},
	}
	c.Kong = NewService(this, "Kong", kongProps)

	// The workers as the tenant-manager's WORKERS: hosts and secret ARNs,
	// never passwords (it reads the secrets at start).
	var workers []any
	for i, w := range props.Databases.Workers {
		workers = append(workers, map[string]any{
			"id": w.ID, "host": w.Instance.DbInstanceEndpointAddress(), "port": w.Instance.DbInstanceEndpointPort(),
			"secretArn": w.Instance.Secret().SecretArn(), "sslmode": "require", "maxTenants": cfg.Database.Workers[i].MaxTenants,
		})
	}
	c.TenantManager = NewService(this, "TenantManager", &ServiceProps{
		Name: "tenant-manager", ServicesDir: props.ServicesDir, Config: cfg.Services.TenantManager, Cluster: props.Cluster,
		DiscoveryName: "tenant-manager", SecurityGroup: props.SecurityGroups.TenantManager, Ports: []int{PortService, PortConfig},
		LogGroup: c.LogGroup, TaskRole: props.Iam.TenantManagerTaskRole,
		Environment: map[string]*string{
			"PLATFORM_DATABASE_URL": awscdk.Fn_Join(str(""), &[]*string{
				str("postgres://"), primary.DbInstanceEndpointAddress(), str(":"), primary.DbInstanceEndpointPort(), str("/supabase_platform?sslmode=require"),
			}),
			// Read at run time, so a rotated password is picked up without
			// a restart (an injected secret would be fixed at task start).
			"PLATFORM_DATABASE_SECRET_ARN":     props.Bootstrap.TenantManagerSecret.SecretArn(),
			"WORKERS":                          awscdk.Stack_Of(this).ToJsonString(workers, nil),
			"KONG_ADMIN_URL":                   discovery("kong-gateway", PortKongAdmin),
			"REDIS_URL":                        awscdk.Fn_Join(str(""), &[]*string{str("rediss://"), redisHost, str(":"), redisPort, str("/0")}),
			"POSTGREST_IMAGE_URI":              props.TenantLambda.Image.ImageUri(),
			"TENANT_LAMBDA_ROLE_ARN":           props.Iam.TenantLambdaRole.RoleArn(),
			"TENANT_LAMBDA_SUBNET_IDS":         props.PrivateSubnets,
			"TENANT_LAMBDA_SECURITY_GROUP_IDS": props.SecurityGroups.Lambda.SecurityGroupId(),
			"TENANT_LAMBDA_MEMORY_MIB":         num(cfg.TenantLambda.MemoryMiB),
			"TENANT_LAMBDA_TIMEOUT_SECONDS":    num(cfg.TenantLambda.TimeoutSeconds),
			"CONFIG_SERVICE_URL":               discovery("tenant-manager", PortConfig),
			"LISTEN_ADDR":                      jsii.String(fmt.Sprintf(":%d", PortService)),
			"INTERNAL_LISTEN_ADDR":             jsii.String(fmt.Sprintf(":%d", PortConfig)),
			"GATEWAY_ROLE_ARN":                 props.Iam.KongTaskRole.RoleArn(),
			"STS_ENDPOINT":                     stsEndpoint,
			"AWS_REGION":                       region,
		},
		Secrets: map[string]awsecs.Secret{
			"REDIS_PASSWORD": secret(props.Cache.AuthToken, nil),
			"ADMIN_TOKEN":    secret(props.Secrets.AdminToken, nil),
			"ENCRYPTION_KEY": secret(props.Secrets.EncryptionKey, nil),
		},
		HealthCheck: []string{"CMD", "/usr/local/bin/tenant-manager", "healthcheck"},
	})

	props.Bootstrap.TenantManagerSecret.GrantRead(props.Iam.TenantManagerTaskRole, nil)

	worker := props.Databases.Workers[0]
	c.PostgresMeta = NewService(this, "PostgresMeta", &ServiceProps{
		Name: "postgres-meta", ServicesDir: props.ServicesDir, Config: cfg.Services.PostgresMeta, Cluster: props.Cluster,
		DiscoveryName: "postgres-meta", SecurityGroup: props.SecurityGroups.PostgresMeta, Ports: []int{PortService},
		LogGroup: c.LogGroup,
		Environment: map[string]*string{
			"PG_META_PORT":        num(PortService),
			"PG_META_DB_HOST":     worker.Instance.DbInstanceEndpointAddress(),
			"PG_META_DB_PORT":     worker.Instance.DbInstanceEndpointPort(),
			"PG_META_DB_NAME":     str("postgres"),
			"PG_META_DB_SSL_MODE": str("require"),
		},
		// Its own login (multi-user rotation, redeployed after each), not
		// the worker's master: ECS injects secrets only at task start.
		Secrets: map[string]awsecs.Secret{
			"PG_META_DB_USER":     secret(props.PostgresMetaLogin, str("username")),
			"PG_META_DB_PASSWORD": secret(props.PostgresMetaLogin, str("password")),
		},
		HealthCheck: []string{"CMD", "node", "-e", "fetch('http://127.0.0.1:8080/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"},
	})

	studioEnv := map[string]*string{
		"PORT":                      num(PortStudio),
		"HOSTNAME":                  str("0.0.0.0"),
		"STUDIO_PG_META_URL":        discovery("postgres-meta", PortService),
		"DEFAULT_ORGANIZATION_NAME": str("Supabase on AWS"),
		"DEFAULT_PROJECT_NAME":      str(cfg.StackName),
	}
	for k, v := range props.StudioAuth.ContainerEnv() {
		studioEnv[k] = v
	}
	c.Studio = NewService(this, "Studio", &ServiceProps{
		Name: "studio", ServicesDir: props.ServicesDir, Config: cfg.Services.Studio, Cluster: props.Cluster,
		SecurityGroup: props.SecurityGroups.Studio, Ports: []int{PortStudio}, LogGroup: c.LogGroup,
		Environment: studioEnv,
		Secrets:     props.StudioAuth.ContainerSecrets(),
		HealthCheck: []string{"CMD", "node", "-e", "fetch('http://127.0.0.1:8000" + StudioHealthPath + "').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"},
	})

	c.Functions = NewService(this, "Functions", &ServiceProps{
		Name: "functions", ServicesDir: props.ServicesDir, Config: cfg.Services.Functions, Cluster: props.Cluster,
		DiscoveryName: "functions-service", SecurityGroup: props.SecurityGroups.Functions, Ports: []int{PortService},
		LogGroup: c.LogGroup,
		// SUPABASE_URL (the public API) is added by the stack once the
		// load balancers exist.
		Environment: map[string]*string{},
		Secrets:     map[string]awsecs.Secret{},
		HealthCheck: []string{"CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/health"},
	})
	return c
}
