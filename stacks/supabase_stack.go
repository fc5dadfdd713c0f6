// Package stacks holds SupabaseStack, which composes the constructs of
// package platform into the whole platform (docs/architecture.md).
package stacks

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
	platform "github.com/supabase-on-aws/supabase-on-aws/constructs"
)

// StackID is the construct id of the stack, so the synthesized template is
// always cdk.out/SupabaseStack.template.json whatever stackName says.
const StackID = "SupabaseStack"

type SupabaseStackProps struct {
	Config config.Config
	// ServicesDir is the folder of the services' sibling modules, relative
	// to the working directory; "services" when empty.
	ServicesDir string
}

type SupabaseStack struct {
	awscdk.Stack
	Network        *platform.Network
	SecurityGroups *platform.SecurityGroups
	Databases      *platform.Databases
	Cache          *platform.Cache
	Bootstrap      *platform.PlatformBootstrap
	Compute        *platform.Compute
	LoadBalancers  *platform.LoadBalancers
	Observability  *platform.Observability
	IAM            *platform.IAM
	Kong           *platform.Kong
	TenantManager  *platform.TenantManager
}

// NewSupabaseStack builds the platform from a validated config.
func NewSupabaseStack(scope constructs.Construct, id string, props *SupabaseStackProps) *SupabaseStack {
	cfg := props.Config
	stackProps := &awscdk.StackProps{
		StackName:   jsii.String(cfg.StackName),
		Description: jsii.String("Supabase on AWS: multi-tenant Supabase platform (Kong gateway, tenant-manager, PostgREST Lambda per tenant)"),
	}
	stackProps.Env = &awscdk.Environment{Region: jsii.String(cfg.Env.Region)}
	if cfg.Env.Account != "" {
		stackProps.Env.Account = jsii.String(cfg.Env.Account)
	}
	stack := awscdk.NewStack(scope, jsii.String(id), stackProps)
	// The access-log bucket enforces bucket-owner object ownership, so S3
	// may deliver server access logs to it only under a bucket policy.
	stack.Node().SetContext(jsii.String("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"), true)
	if cfg.Env.Account != "" {
		// Answer the AZ context query from config, so synth never calls AWS.
		key := fmt.Sprintf("availability-zones:account=%s:region=%s", cfg.Env.Account, cfg.Env.Region)
		stack.Node().SetContext(jsii.String(key), cfg.Network.AvailabilityZones)
	}
	for k, v := range cfg.Tags {
		awscdk.Tags_Of(stack).Add(jsii.String(k), jsii.String(v), &awscdk.TagProps{
			// cfn-lint's resource schemas have no Tags on these yet; leaving
			// them untagged keeps the template valid for every checker.
			ExcludeResourceTypes: jsii.Strings("AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule", "AWS::CloudWatch::Dashboard"),
		})
	}
	if !cfg.HasDomain() {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("supabase:no-domain"), jsii.String(
			"No domain configured: the ALBs listen on plain HTTP and the project is taken from the X-Project-ID header. "+
				"Set \"domain\" in config.json for TLS and per-project host names before serving real traffic."))
	}
	logRetention := platform.Retention(cfg.Logs.RetentionDays)

	network := platform.NewNetwork(stack, "Network", &platform.NetworkProps{Config: cfg.Network, LogRetention: logRetention})
	sgs := platform.NewSecurityGroups(stack, "SecurityGroups", &platform.SecurityGroupsProps{
		Vpc:        network.Vpc,
		AdminCidrs: cfg.AdminCidrs,
		TLS:        cfg.HasDomain(),
	})
	dbs := platform.NewDatabases(stack, "Databases", &platform.DatabasesProps{
		Vpc:            network.Vpc,
		NamePrefix:     strings.ToLower(cfg.StackName),
		Config:         cfg.Database,
		SecurityGroups: sgs,
		LogRetention:   logRetention,
	})
	cache := platform.NewCache(stack, "Cache", &platform.CacheProps{
		Vpc:           network.Vpc,
		Config:        cfg.Cache,
		SecurityGroup: sgs.Redis,
	})
	servicesDir := props.ServicesDir
	if servicesDir == "" {
		servicesDir = "services"
	}
	bootstrap := platform.NewPlatformBootstrap(stack, "PlatformBootstrap", &platform.PlatformBootstrapProps{
		Vpc:            network.Vpc,
		Databases:      dbs,
		SecurityGroups: sgs,
		ServicesDir:    servicesDir,
		LogRetention:   logRetention,
	})
	cluster := platform.NewCluster(stack, "Cluster", &platform.ClusterProps{Vpc: network.Vpc})
	tenantLambda := platform.NewTenantLambda(stack, "TenantLambda", &platform.TenantLambdaProps{ServicesDir: servicesDir})
	iam := platform.NewIAM(stack, "Iam", &platform.IAMProps{})
	secrets := platform.NewPlatformSecrets(stack, "PlatformSecrets", &platform.PlatformSecretsProps{Key: dbs.Key})
	// postgres-meta (Studio's database API) logs in to the first worker
	// with its own read-only login, not the worker's master.
	metaLogin := platform.NewDatabaseLogin(stack, "PostgresMetaLogin", &platform.DatabaseLoginProps{
		Admin:    bootstrap.Function,
		Instance: dbs.Workers[0].Instance,
		Username: "postgres_meta",
		MemberOf: []string{"pg_monitor", "pg_read_all_data"},
		Key:      dbs.Key,
		Target:   sgs.WorkerDb,
		Rotator:  sgs.DbAdmin,
		Vpc:      network.Vpc,
	})
	studioHost := ""
	if cfg.HasDomain() {
		studioHost = "studio." + cfg.Domain.Name
	}
	studioAuth := platform.NewStudioAuth(stack, "StudioAuth", &platform.StudioAuthProps{
		Cognito:      cfg.StudioAuthMode() == config.StudioAuthCognito,
		StudioHost:   studioHost,
		DomainPrefix: cfg.StackName + "-studio",
		Key:          dbs.Key,
	})
	// The load balancers first: the services register with their target
	// groups, and the functions get the public URL.
	lbs := platform.NewLoadBalancers(stack, "LoadBalancers", &platform.LoadBalancersProps{
		Vpc:              network.Vpc,
		SecurityGroups:   sgs,
		Domain:           cfg.Domain,
		StudioAuth:       studioAuth,
		LogRetentionDays: cfg.Logs.RetentionDays,
		// The ALB outlasts the gateway's wait for a function.
		KongIdleSeconds: functionsGatewayTimeout(cfg) + 5,
	})

	domain := ""
	if cfg.HasDomain() {
		domain = cfg.Domain.Name
	}
	edge := platform.NewEdgeFunctions(stack, "EdgeFunctions", &platform.EdgeFunctionsProps{
		ServicesDir: servicesDir, AccessLogs: lbs.LogBucket, NoncurrentDays: cfg.Logs.RetentionDays,
	})
	// Functions call their project's API: its own host with a domain;
	// without one, the gateway's URL (the caller adds X-Project-ID).
	projectURL := lbs.KongURL
	if domain != "" {
		projectURL = jsii.String("https://{ref}." + domain)
	}
	obs := platform.NewObservability(stack, "Observability", &platform.ObservabilityProps{Email: cfg.Alarms.Email})
	compute := platform.NewCompute(stack, "Compute", &platform.ComputeProps{LogRetention: logRetention})
	svc := cfg.Services
	kong := platform.NewKong(compute.Construct, "Kong", &platform.KongProps{
		ServicesDir: servicesDir, Sizing: svc.Kong, Cluster: cluster, LogGroup: compute.LogGroup,
		SecurityGroup: sgs.Kong, Targets: lbs.KongTargets, TaskRole: iam.KongTaskRole,
		Database: dbs.Primary.Instance, Login: bootstrap.KongSecret, Redis: cache.Endpoint(),
		PlatformDomain: domain, JwtTTLSeconds: cfg.Gateway.JwtTTLSeconds, CacheTTLSeconds: cfg.Gateway.CacheTTLSeconds,
		RateLimit: cfg.Gateway.RateLimit, FunctionsTimeoutSeconds: functionsGatewayTimeout(cfg),
	})
	var workers []platform.WorkerEndpoint
	for i, w := range dbs.Workers {
		workers = append(workers, platform.WorkerEndpoint{ID: w.ID, Instance: w.Instance, MaxTenants: cfg.Database.Workers[i].MaxTenants})
	}
	tenantManager := platform.NewTenantManager(compute.Construct, "TenantManager", &platform.TenantManagerProps{
		ServicesDir: servicesDir, Sizing: svc.TenantManager, Cluster: cluster, LogGroup: compute.LogGroup,
		SecurityGroup: sgs.TenantManager, Targets: lbs.ManagerTargets, TaskRole: iam.TenantManagerTaskRole,
		Platform: dbs.Primary.Instance, PlatformLogin: bootstrap.TenantManagerSecret, Workers: workers, Redis: cache.Endpoint(),
		Functions: platform.TenantFunctionSettings{
			ImageURI: tenantLambda.Image.ImageUri(), ImageRepository: tenantLambda.Image.Repository(), Role: iam.TenantLambdaRole,
			SubnetIDs:     awscdk.Fn_Join(jsii.String(","), network.Vpc.SelectSubnets(platform.PrivateSubnets()).SubnetIds),
			SecurityGroup: sgs.Lambda, MemoryMiB: cfg.TenantLambda.MemoryMiB, TimeoutSeconds: cfg.TenantLambda.TimeoutSeconds,
			ReservedConcurrency: cfg.TenantLambda.ReservedConcurrency,
			LogRetentionDays:    cfg.Logs.RetentionDays, RetainLogGroup: cfg.TenantLambda.LogGroupOnDelete == "retain",
		},
		EdgeFunctions: platform.EdgeFunctionSettings{
			ImageURI: edge.Image.ImageUri(), ImageRepository: edge.Image.Repository(), Role: iam.EdgeFunctionsRole,
			Bundles: edge.Bundles, MemoryMiB: cfg.EdgeFunctions.MemoryMiB, TimeoutSeconds: cfg.EdgeFunctions.TimeoutSeconds,
			ReservedConcurrency: cfg.EdgeFunctions.ReservedConcurrency, KeepVersions: cfg.EdgeFunctions.KeepVersions,
			ProjectURL: projectURL, SecurityGroup: sgs.EdgeFunctions,
		},
		AlarmTopic: obs.Topic, Alarms: cfg.Alarms.Tenant,
		Databases: platform.TenantDatabaseSettings{
			ConnectionLimit:                      cfg.TenantDatabase.ConnectionLimit,
			AnonStatementTimeoutSeconds:          cfg.TenantDatabase.AnonStatementTimeoutSeconds,
			AuthenticatedStatementTimeoutSeconds: cfg.TenantDatabase.AuthenticatedStatementTimeoutSeconds,
			ServiceRoleStatementTimeoutSeconds:   cfg.TenantDatabase.ServiceRoleStatementTimeoutSeconds,
		},
		JwtTTLSeconds: cfg.Gateway.JwtTTLSeconds, GatewayCacheTTLSeconds: cfg.Gateway.CacheTTLSeconds,
		GatewayRole: iam.KongTaskRole, AdminToken: secrets.AdminToken, EncryptionKey: secrets.EncryptionKey,
	})
	postgresMeta := platform.NewPostgresMeta(compute.Construct, "PostgresMeta", &platform.PostgresMetaProps{
		ServicesDir: servicesDir, Sizing: svc.PostgresMeta, Cluster: cluster, LogGroup: compute.LogGroup,
		SecurityGroup: sgs.PostgresMeta, Database: dbs.Workers[0].Instance, Login: metaLogin.Secret,
	})
	studio := platform.NewStudio(compute.Construct, "Studio", &platform.StudioProps{
		ServicesDir: servicesDir, Sizing: svc.Studio, Cluster: cluster, LogGroup: compute.LogGroup,
		SecurityGroup: sgs.Studio, Targets: lbs.StudioTargets, Auth: studioAuth, ProjectName: cfg.StackName,
	})

	platform.RequireBootstrapVersion(stack, platform.MinBootstrapVersion)
	platform.NewTenantMetrics(stack, "TenantMetrics", &platform.TenantMetricsProps{LogGroup: compute.LogGroup, NamePrefix: cfg.StackName})
	obs.Watch(&platform.WatchProps{
		LoadBalancers: lbs,
		Services: []platform.NamedService{
			{Name: "kong", Service: kong.Fargate}, {Name: "tenant-manager", Service: tenantManager.Fargate},
			{Name: "studio", Service: studio.Fargate},
			{Name: "postgres-meta", Service: postgresMeta.Fargate},
		},
		Databases: dbs,
		Cache:     cache,
	})
	platform.NewRotationRedeploy(stack, "RotationRedeploy", &platform.RotationRedeployProps{
		Image:   bootstrap.Image,
		Cluster: cluster.Cluster,
		Consumers: []platform.SecretConsumer{
			{Secret: bootstrap.KongSecret, Services: []awsecs.FargateService{kong.Fargate}},
			{Secret: metaLogin.Secret, Services: []awsecs.FargateService{postgresMeta.Fargate}},
		},
		LogRetention: logRetention,
		AlarmAction:  awscloudwatchactions.NewSnsAction(obs.Topic),
	})
	var endUsers *platform.EndUserPool
	if cfg.EndUserPool.Enabled {
		endUsers = platform.NewEndUserPool(stack, "EndUserPool", &platform.EndUserPoolProps{SelfSignUp: cfg.EndUserPool.SelfSignUp})
	}
	platform.NewOutputs(stack, "Outputs", &platform.OutputsProps{
		Databases: dbs, Bootstrap: bootstrap, LoadBalancers: lbs, Secrets: secrets, Observability: obs, StudioAuth: studioAuth,
		EndUserPool: endUsers,
	})

	return &SupabaseStack{Stack: stack, Network: network, SecurityGroups: sgs, Databases: dbs, Cache: cache, Bootstrap: bootstrap,
		Compute: compute, LoadBalancers: lbs, Observability: obs, IAM: iam, Kong: kong, TenantManager: tenantManager}
}

// functionsGatewayTimeout is how long Kong waits for an edge function: its
// Lambda's timeout and a margin for the cold start and the answer.
func functionsGatewayTimeout(cfg config.Config) int { return cfg.EdgeFunctions.TimeoutSeconds + 5 }
