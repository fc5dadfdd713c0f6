package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

func TestNetwork(t *testing.T) {
	stack := newStack(t)
	NewNetwork(stack, "Network", &NetworkProps{
		Config:       config.Network{Cidr: "10.9.0.0/16", MaxAzs: 3, NatGateways: 1, FlowLogs: true},
		LogRetention: awslogs.RetentionDays_TWO_WEEKS,
	})
	x := synth(t, stack)

	t.Run("three tiers of /24 in every AZ", func(t *testing.T) {
		x.has(t, "AWS::EC2::VPC", map[string]any{"CidrBlock": "10.9.0.0/16"})
		x.count(t, "AWS::EC2::Subnet", 9)
		x.allHave(t, "AWS::EC2::Subnet", map[string]any{"CidrBlock": matches(`^10\.9\.\d+\.0/24$`)})
		for _, tier := range []string{"Public", "Private", "Isolated"} {
			x.countWith(t, "AWS::EC2::Subnet", map[string]any{
				"Tags": arrayWith(map[string]any{"Key": "aws-cdk:subnet-type", "Value": tier}),
			}, 3)
		}
	})
	t.Run("maxAzs AZs resolved by CloudFormation, not capped at two", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			x.countWith(t, "AWS::EC2::Subnet", map[string]any{
				"AvailabilityZone": map[string]any{"Fn::Select": []any{i, map[string]any{"Fn::GetAZs": ""}}},
			}, 3)
		}
	})
	t.Run("no public IPs on launch", func(t *testing.T) {
		x.countWith(t, "AWS::EC2::Subnet", map[string]any{"MapPublicIpOnLaunch": true}, 0)
		x.countWith(t, "AWS::EC2::Subnet", map[string]any{
			"MapPublicIpOnLaunch": false, "Tags": arrayWith(map[string]any{"Key": "aws-cdk:subnet-type", "Value": "Public"}),
		}, 3)
	})
	t.Run("private subnets leave through the NAT gateway, isolated ones have no route", func(t *testing.T) {
		x.count(t, "AWS::EC2::NatGateway", 1)
		x.countWith(t, "AWS::EC2::Route", map[string]any{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": anyValue()}, 3)
		x.countWith(t, "AWS::EC2::Route", map[string]any{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": anyValue()}, 3)
		x.count(t, "AWS::EC2::Route", 6)
	})
	t.Run("flow logs of all traffic to a retained log group", func(t *testing.T) {
		group := capture()
		x.has(t, "AWS::EC2::FlowLog", map[string]any{
			"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs", "LogGroupName": group,
		})
		x.hasResource(t, "AWS::Logs::LogGroup", map[string]any{"DeletionPolicy": "Retain"})
		require.Equal(t, float64(14), props(x.resource(t, refOf(t, group)))["RetentionInDays"])
	})
	t.Run("default security group restricted, without the duplicate provider dependency", func(t *testing.T) {
		x.count(t, "Custom::VpcRestrictDefaultSG", 1)
		x.hasResource(t, "AWS::Lambda::Function", map[string]any{"DependsOn": absent()})
	})
}

// With explicit AZs and flow logs off: the AZs are the named ones (and
// cfn-lint's hard-coded-AZ warning is silenced on exactly those subnets),
// and the missing flow logs are an accepted cdk-nag finding.
func TestNetworkExplicitAZsWithoutFlowLogs(t *testing.T) {
	stack := newStack(t)
	NewNetwork(stack, "Network", &NetworkProps{
		Config: config.Network{Cidr: "10.0.0.0/16", MaxAzs: 2, AvailabilityZones: []string{"eu-west-1a", "eu-west-1c"}, NatGateways: 2},
	})
	x := synth(t, stack)
	x.countWith(t, "AWS::EC2::Subnet", map[string]any{"AvailabilityZone": "eu-west-1c"}, 3)
	x.count(t, "AWS::EC2::Subnet", 6)
	x.count(t, "AWS::EC2::NatGateway", 2)
	try(t, func() {
		x.AllResources(jsii.String("AWS::EC2::Subnet"), map[string]any{
			"Metadata": like(map[string]any{"cfn-lint": map[string]any{"config": map[string]any{"ignore_checks": []any{"W3010"}}}}),
		})
	})
	x.count(t, "AWS::EC2::FlowLog", 0)
	for _, vpc := range x.resources("AWS::EC2::VPC") {
		require.Contains(t, suppressed(vpc), "AwsSolutions-VPC7")
	}
}
