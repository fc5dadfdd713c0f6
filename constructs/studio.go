package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

type StudioProps struct {
	ServicesDir   string
	Sizing        config.Service
	Cluster       *Cluster
	LogGroup      awslogs.ILogGroup
	SecurityGroup awsec2.ISecurityGroup
	Targets       elb.ApplicationTargetGroup
	// Auth says whether Studio's container checks Basic credentials or
	// trusts the load balancer's sign-in.
	Auth        *StudioAuth
	ProjectName string
}

// Studio is Supabase Studio behind its authenticating proxy.
type Studio struct {
	*ContainerService
}

func NewStudio(scope constructs.Construct, id string, props *StudioProps) *Studio {
	env := map[string]*string{
		"PORT":                      num(PortStudio),
		"STUDIO_PG_META_URL":        Discovery("postgres-meta", PortService),
		"DEFAULT_ORGANIZATION_NAME": jsii.String("Supabase on AWS"),
		"DEFAULT_PROJECT_NAME":      jsii.String(props.ProjectName),
	}
	for k, v := range props.Auth.ContainerEnv() {
		env[k] = v
	}
	svc := NewContainerService(scope, id, &ContainerServiceProps{
		Name: "studio", ServicesDir: props.ServicesDir, Sizing: props.Sizing, Cluster: props.Cluster,
		SecurityGroup: props.SecurityGroup, Ports: []int{PortStudio}, LogGroup: props.LogGroup, Targets: props.Targets,
		Environment: env,
		Secrets:     props.Auth.ContainerSecrets(),
		HealthCheck: []string{"CMD", "node", "-e", "fetch('http://127.0.0.1:8000" + StudioHealthPath + "').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"},
	})
	return &Studio{ContainerService: svc}
}
