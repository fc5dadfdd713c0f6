package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

type ContainerServiceProps struct {
	// Name is the service's folder under ServicesDir and its log stream
	// prefix, e.g. "tenant-manager".
	Name        string
	ServicesDir string
	Sizing      config.Service
	Cluster     *Cluster
	// DiscoveryName registers the service in kong.local ("" = not at all).
	DiscoveryName string
	SecurityGroup awsec2.ISecurityGroup
	Ports         []int
	Environment   map[string]*string
	Secrets       map[string]awsecs.Secret
	// HealthCheck is the container health check command (CMD form).
	HealthCheck []string
	LogGroup    awslogs.ILogGroup
	TaskRole    awsiam.IRole
	// Targets, when set, is the load balancer target group the service
	// registers its first port with.
	Targets elb.ApplicationTargetGroup
}

// ContainerService is the building block of the platform's Fargate
// services: one container built from its sibling module's Dockerfile (or the
// configured image), awslogs, container health check, circuit breaker with
// rollback, 100 % minimum healthy, secrets from Secrets Manager, CPU target
// tracking when maxCount > desiredCount.
type ContainerService struct {
	constructs.Construct
	Fargate   awsecs.FargateService
	Task      awsecs.FargateTaskDefinition
	Container awsecs.ContainerDefinition
}

func NewContainerService(scope constructs.Construct, id string, props *ContainerServiceProps) *ContainerService {
	this := constructs.NewConstruct(scope, jsii.String(id))
	cfg := props.Sizing

	var image awsecs.ContainerImage
	if cfg.Image != "" {
		image = awsecs.ContainerImage_FromRegistry(jsii.String(cfg.Image), nil)
	} else {
		image = awsecs.ContainerImage_FromDockerImageAsset(NewImageAsset(this, "Image", props.ServicesDir, props.Name))
	}
	task := awsecs.NewFargateTaskDefinition(this, jsii.String("Task"), &awsecs.FargateTaskDefinitionProps{
		Cpu:            jsii.Number(cfg.CPU),
		MemoryLimitMiB: jsii.Number(cfg.MemoryMiB),
		TaskRole:       props.TaskRole,
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       awsecs.CpuArchitecture_X86_64(),
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})
	var ports []*awsecs.PortMapping
	for _, p := range props.Ports {
		ports = append(ports, &awsecs.PortMapping{ContainerPort: jsii.Number(p), Protocol: awsecs.Protocol_TCP})
	}
	container := task.AddContainer(jsii.String("App"), &awsecs.ContainerDefinitionOptions{
		ContainerName: jsii.String(props.Name),
		Image:         image,
		Essential:     jsii.Bool(true),
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup:     props.LogGroup,
			StreamPrefix: jsii.String(props.Name),
		}),
		Environment:  &props.Environment,
		Secrets:      &props.Secrets,
		PortMappings: &ports,
		HealthCheck: &awsecs.HealthCheck{
			Command:     jsii.Strings(props.HealthCheck...),
			Interval:    awscdk.Duration_Seconds(jsii.Number(30)),
			Timeout:     awscdk.Duration_Seconds(jsii.Number(5)),
			Retries:     jsii.Number(3),
			StartPeriod: awscdk.Duration_Seconds(jsii.Number(60)),
		},
	})
	svcProps := &awsecs.FargateServiceProps{
		Cluster:           props.Cluster.Cluster,
		TaskDefinition:    task,
		DesiredCount:      jsii.Number(cfg.DesiredCount),
		SecurityGroups:    &[]awsec2.ISecurityGroup{props.SecurityGroup},
		VpcSubnets:        PrivateSubnets(),
		AssignPublicIp:    jsii.Bool(false),
		MinHealthyPercent: jsii.Number(100),
		MaxHealthyPercent: jsii.Number(200),
		CircuitBreaker:    &awsecs.DeploymentCircuitBreaker{Enable: jsii.Bool(true), Rollback: jsii.Bool(true)},
		PropagateTags:     awsecs.PropagatedTagSource_SERVICE,
	}
	if props.DiscoveryName != "" {
		svcProps.CloudMapOptions = &awsecs.CloudMapOptions{
			Name:              jsii.String(props.DiscoveryName),
			CloudMapNamespace: props.Cluster.Namespace,
			DnsTtl:            awscdk.Duration_Seconds(jsii.Number(10)),
		}
	}
	svc := awsecs.NewFargateService(this, jsii.String("Service"), svcProps)
	if cfg.Max() > cfg.DesiredCount {
		scaling := svc.AutoScaleTaskCount(&awsapplicationautoscaling.EnableScalingProps{MinCapacity: jsii.Number(cfg.Min()), MaxCapacity: jsii.Number(cfg.Max())})
		scaling.ScaleOnCpuUtilization(jsii.String("Cpu"), &awsecs.CpuUtilizationScalingProps{TargetUtilizationPercent: jsii.Number(60)})
	}
	suppress(task,
		suppression{"ECS2", "Only non-secret settings (hosts, ports, URLs, role ARNs) are environment variables; every password, token and key is injected from Secrets Manager through the container's secrets."},
		suppression{"IAM5", "The task execution role's ECR pull and log actions are granted by CDK on the asset repository and this log group; GetAuthorizationToken has no resource-level permissions."},
	)
	if props.Targets != nil {
		props.Targets.AddTarget(svc.LoadBalancerTarget(&awsecs.LoadBalancerTargetOptions{
			ContainerName: container.ContainerName(), ContainerPort: jsii.Number(props.Ports[0]),
		}))
	}
	return &ContainerService{Construct: this, Fargate: svc, Task: task, Container: container}
}
