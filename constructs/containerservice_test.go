package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

func TestContainerService(t *testing.T) {
	stack := newStack(t)
	d := newServiceDeps(stack)
	cluster, logs, targets := d.cluster, d.logs, d.targets(stack, 8000)
	role := awsiam.Role_FromRoleArn(stack, jsii.String("Role"), jsii.String("arn:aws:iam::111111111111:role/app-task"), nil)
	secret := awssecretsmanager.NewSecret(stack, jsii.String("Token"), nil)
	two, five := 2, 5
	NewContainerService(stack, "Scaled", &ContainerServiceProps{
		Name: "scaled", ServicesDir: servicesDir, Cluster: cluster, DiscoveryName: "scaled-svc",
		Sizing:        config.Service{CPU: 512, MemoryMiB: 1024, DesiredCount: 2, MinCount: &two, MaxCount: &five, Image: "public.ecr.aws/example/app:1.2.3"},
		SecurityGroup: importedSG(stack, "Sg", "sg-00000000000000001"), Ports: []int{8000, 8001}, LogGroup: logs, TaskRole: role, Targets: targets,
		Environment: map[string]*string{"MODE": jsii.String("test")},
		Secrets:     map[string]awsecs.Secret{"TOKEN": awsecs.Secret_FromSecretsManager(secret, nil)},
		HealthCheck: []string{"CMD", "true"},
	})
	NewContainerService(stack, "Built", &ContainerServiceProps{
		Name: "studio", ServicesDir: servicesDir, Cluster: cluster,
		Sizing:        config.Service{CPU: 256, MemoryMiB: 512, DesiredCount: 1},
		SecurityGroup: importedSG(stack, "Sg2", "sg-00000000000000002"), Ports: []int{8080}, LogGroup: logs,
		Environment: map[string]*string{}, Secrets: map[string]awsecs.Secret{}, HealthCheck: []string{"CMD", "true"},
	})
	x := synth(t, stack)

	t.Run("task: size, x86_64 Linux, its role", func(t *testing.T) {
		x.has(t, "AWS::ECS::TaskDefinition", map[string]any{
			"Cpu": "512", "Memory": "1024", "NetworkMode": "awsvpc", "RequiresCompatibilities": []any{"FARGATE"},
			"RuntimePlatform": map[string]any{"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"},
			"TaskRoleArn":     "arn:aws:iam::111111111111:role/app-task",
		})
	})
	t.Run("container: image, logs, health check, ports, env and secrets", func(t *testing.T) {
		valueFrom := capture()
		x.has(t, "AWS::ECS::TaskDefinition", map[string]any{"ContainerDefinitions": []any{like(map[string]any{
			"Name": "scaled", "Essential": true, "Image": "public.ecr.aws/example/app:1.2.3",
			"LogConfiguration": map[string]any{"LogDriver": "awslogs", "Options": like(map[string]any{
				"awslogs-group": "/ecs/supabase", "awslogs-stream-prefix": "scaled",
			})},
			"HealthCheck": map[string]any{"Command": []any{"CMD", "true"}, "Interval": 30, "Timeout": 5, "Retries": 3, "StartPeriod": 60},
			"PortMappings": []any{
				map[string]any{"ContainerPort": 8000, "Protocol": "tcp"},
				map[string]any{"ContainerPort": 8001, "Protocol": "tcp"},
			},
			"Environment": []any{map[string]any{"Name": "MODE", "Value": "test"}},
			"Secrets":     []any{map[string]any{"Name": "TOKEN", "ValueFrom": valueFrom}},
		})}})
		require.Equal(t, "AWS::SecretsManager::Secret", x.resource(t, refOf(t, valueFrom))["Type"])
	})
	t.Run("service: private subnets, no public IP, rollback, 100% healthy", func(t *testing.T) {
		x.has(t, "AWS::ECS::Service", map[string]any{
			"LaunchType": "FARGATE", "DesiredCount": 2, "PropagateTags": "SERVICE",
			"DeploymentConfiguration": like(map[string]any{
				"MinimumHealthyPercent": 100, "MaximumPercent": 200,
				"DeploymentCircuitBreaker": map[string]any{"Enable": true, "Rollback": true},
			}),
			"NetworkConfiguration": map[string]any{"AwsvpcConfiguration": map[string]any{
				"AssignPublicIp": "DISABLED", "SecurityGroups": []any{"sg-00000000000000001"}, "Subnets": toAnySlice(privateSubnetIDs),
			}},
		})
	})
	t.Run("registered with its first port and in kong.local", func(t *testing.T) {
		registry := capture()
		x.has(t, "AWS::ECS::Service", map[string]any{
			"DesiredCount":      2,
			"LoadBalancers":     []any{map[string]any{"ContainerName": "scaled", "ContainerPort": 8000, "TargetGroupArn": ref(x.only(t, "AWS::ElasticLoadBalancingV2::TargetGroup", map[string]any{"Port": 8000}))}},
			"ServiceRegistries": []any{map[string]any{"RegistryArn": registry}},
		})
		reg := props(x.resource(t, getAttOf(t, registry)))
		require.Equal(t, "scaled-svc", reg["Name"])
		require.JSONEq(t, `[{"TTL":10,"Type":"A"}]`, toJSON(reg["DnsConfig"].(map[string]any)["DnsRecords"]))
	})
	t.Run("scales on CPU between minCount and maxCount", func(t *testing.T) {
		x.count(t, "AWS::ApplicationAutoScaling::ScalableTarget", 1)
		x.has(t, "AWS::ApplicationAutoScaling::ScalableTarget", map[string]any{"MinCapacity": 2, "MaxCapacity": 5, "ScalableDimension": "ecs:service:DesiredCount"})
		x.has(t, "AWS::ApplicationAutoScaling::ScalingPolicy", map[string]any{
			"PolicyType": "TargetTrackingScaling",
			"TargetTrackingScalingPolicyConfiguration": like(map[string]any{
				"TargetValue":                   60,
				"PredefinedMetricSpecification": map[string]any{"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
			}),
		})
	})
	t.Run("without an image: built from its module; without discovery or targets: neither", func(t *testing.T) {
		built := x.container(t, "studio")
		image := toJSON(built["Image"])
		require.Contains(t, image, "cdk-hnb659fds-container-assets-")
		x.has(t, "AWS::ECS::Service", map[string]any{
			"DesiredCount": 1, "ServiceRegistries": absent(), "LoadBalancers": absent(),
		})
		// One task execution role pulls the asset image; the registry image
		// needs no ECR grant.
		x.has(t, "AWS::IAM::Policy", map[string]any{"PolicyDocument": map[string]any{"Statement": arrayWith(like(map[string]any{
			"Action": []any{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"},
		})), "Version": "2012-10-17"}})
	})
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
