package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsservicediscovery"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Namespace is the private DNS namespace the services register in.
const Namespace = "kong.local"

type ClusterProps struct {
	Vpc awsec2.IVpc
}

// Cluster is the ECS cluster (Container Insights on) and the Cloud Map
// namespace kong.local through which services find each other.
type Cluster struct {
	constructs.Construct
	Cluster   awsecs.Cluster
	Namespace awsservicediscovery.PrivateDnsNamespace
}

func NewCluster(scope constructs.Construct, id string, props *ClusterProps) *Cluster {
	this := constructs.NewConstruct(scope, jsii.String(id))
	cluster := awsecs.NewCluster(this, jsii.String("Cluster"), &awsecs.ClusterProps{
		Vpc:                 props.Vpc,
		ContainerInsightsV2: awsecs.ContainerInsights_ENABLED,
	})
	ns := awsservicediscovery.NewPrivateDnsNamespace(this, jsii.String("Namespace"), &awsservicediscovery.PrivateDnsNamespaceProps{
		Name:        jsii.String(Namespace),
		Vpc:         props.Vpc,
		Description: jsii.String("Supabase platform service discovery"),
	})
	return &Cluster{Construct: this, Cluster: cluster, Namespace: ns}
}
