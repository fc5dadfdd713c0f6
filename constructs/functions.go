package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

type FunctionsProps struct {
	ServicesDir   string
	Sizing        config.Service
	Cluster       *Cluster
	LogGroup      awslogs.ILogGroup
	SecurityGroup awsec2.ISecurityGroup
	// SupabaseURL is the public API the functions call back (Kong's URL).
	SupabaseURL *string
}

// Functions is the edge functions runtime behind Kong's /functions/v1.
type Functions struct {
	*ContainerService
}

func NewFunctions(scope constructs.Construct, id string, props *FunctionsProps) *Functions {
	svc := NewContainerService(scope, id, &ContainerServiceProps{
		Name: "functions", ServicesDir: props.ServicesDir, Sizing: props.Sizing, Cluster: props.Cluster,
		DiscoveryName: "functions-service", SecurityGroup: props.SecurityGroup, Ports: []int{PortService},
		LogGroup:    props.LogGroup,
		Environment: map[string]*string{"SUPABASE_URL": props.SupabaseURL},
		Secrets:     map[string]awsecs.Secret{},
		HealthCheck: []string{"CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/health"},
	})
	return &Functions{ContainerService: svc}
}
