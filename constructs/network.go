package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

// Subnet group names; other constructs select subnets by these.
const (
	SubnetPublic   = "public"
	SubnetPrivate  = "private"
	SubnetIsolated = "isolated"
)

type NetworkProps struct {
	Config config.Network
	// LogRetention is how long VPC flow logs are kept.
	LogRetention awslogs.RetentionDays
}

// Network is the VPC: public subnets for the ALBs and NAT gateways, private
// subnets with egress for Fargate tasks and Lambdas, isolated subnets for
// RDS and ElastiCache.
type Network struct {
	constructs.Construct
	Vpc awsec2.Vpc
}

func NewNetwork(scope constructs.Construct, id string, props *NetworkProps) *Network {
	this := constructs.NewConstruct(scope, jsii.String(id))
	cfg := props.Config

	vpcProps := &awsec2.VpcProps{
		IpAddresses: awsec2.IpAddresses_Cidr(jsii.String(cfg.Cidr)),
		NatGateways: jsii.Number(cfg.NatGateways),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String(SubnetPublic), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24), MapPublicIpOnLaunch: jsii.Bool(false)},
			{Name: jsii.String(SubnetPrivate), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(24)},
			{Name: jsii.String(SubnetIsolated), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED, CidrMask: jsii.Number(24)},
		},
		RestrictDefaultSecurityGroup: jsii.Bool(true),
	}
	explicitAZs := len(cfg.AvailabilityZones) > 0
	if explicitAZs {
		vpcProps.AvailabilityZones = jsii.Strings(cfg.AvailabilityZones...)
	} else {
		// The first maxAzs AZs of the deploy region, resolved by
		// CloudFormation: no lookup at synth, and unlike CDK's own fallback
		// for environment-agnostic stacks it is not capped at two.
		azs := make([]*string, cfg.MaxAzs)
		for i := range azs {
			azs[i] = awscdk.Fn_Select(jsii.Number(i), awscdk.Fn_GetAzs(jsii.String("")))
		}
		vpcProps.AvailabilityZones = &azs
	}
	vpc := awsec2.NewVpc(this, jsii.String("Vpc"), vpcProps)
	if explicitAZs {
		// The operator named the AZs on purpose (config
		// network.availabilityZones), so cfn-lint's advice against hard-coded
		// AZs does not apply to these subnets.
		for _, subnets := range []*[]awsec2.ISubnet{vpc.PublicSubnets(), vpc.PrivateSubnets(), vpc.IsolatedSubnets()} {
			for _, sn := range *subnets {
				if cfn, ok := sn.Node().DefaultChild().(awscdk.CfnResource); ok {
					cfn.AddMetadata(jsii.String("cfn-lint"), map[string]any{"config": map[string]any{"ignore_checks": []string{"W3010"}}})
				}
			}
		}
	}
	dropRedundantProviderDependency(awscdk.Stack_Of(this))

	if cfg.FlowLogs {
		group := awslogs.NewLogGroup(this, jsii.String("FlowLogs"), &awslogs.LogGroupProps{
			Retention:     props.LogRetention,
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
		vpc.AddFlowLog(jsii.String("FlowLog"), &awsec2.FlowLogOptions{
			Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(group, nil),
			TrafficType: awsec2.FlowLogTrafficType_ALL,
		})
	} else {
		suppress(vpc, suppression{"VPC7", "Flow logs are disabled by network.flowLogs=false in config.json, an explicit operator choice."})
	}
	return &Network{Construct: this, Vpc: vpc}
}

// PublicSubnets, PrivateSubnets and IsolatedSubnets select the three tiers.
func PublicSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetGroupName: jsii.String(SubnetPublic)}
}

func PrivateSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetGroupName: jsii.String(SubnetPrivate)}
}

func IsolatedSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetGroupName: jsii.String(SubnetIsolated)}
}

// dropRedundantProviderDependency removes the DependsOn that CDK puts on the
// restrict-default-SG provider's Lambda: its Role GetAtt already orders the
// two, and cfn-lint (W3005) rightly reports the duplicate.
func dropRedundantProviderDependency(stack awscdk.Stack) {
	provider := stack.Node().TryFindChild(jsii.String("Custom::VpcRestrictDefaultSGCustomResourceProvider"))
	if provider == nil {
		return
	}
	if handler, ok := provider.Node().TryFindChild(jsii.String("Handler")).(awscdk.CfnResource); ok {
		handler.AddDeletionOverride(jsii.String("DependsOn"))
	}
}
