package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

type PostgresMetaProps struct {
	ServicesDir   string
	Sizing        config.Service
	Cluster       *Cluster
	LogGroup      awslogs.ILogGroup
	SecurityGroup awsec2.ISecurityGroup
	// Database is the worker Studio shows, and Login postgres-meta's own
	// login there (multi-user rotation; the stack redeploys this service
	// after each rotation, since ECS injects secrets only at task start).
	Database awsrds.IDatabaseInstance
	Login    awssecretsmanager.ISecret
}

// PostgresMeta is Studio's database API.
type PostgresMeta struct {
	*ContainerService
}

func NewPostgresMeta(scope constructs.Construct, id string, props *PostgresMetaProps) *PostgresMeta {
	secret := awsecs.Secret_FromSecretsManager
	svc := NewContainerService(scope, id, &ContainerServiceProps{
		Name: "postgres-meta", ServicesDir: props.ServicesDir, Sizing: props.Sizing, Cluster: props.Cluster,
		DiscoveryName: "postgres-meta", SecurityGroup: props.SecurityGroup, Ports: []int{PortService},
		LogGroup: props.LogGroup,
		Environment: map[string]*string{
			"PG_META_PORT":        num(PortService),
			"PG_META_DB_HOST":     props.Database.DbInstanceEndpointAddress(),
			"PG_META_DB_PORT":     props.Database.DbInstanceEndpointPort(),
			"PG_META_DB_NAME":     jsii.String("postgres"),
			"PG_META_DB_SSL_MODE": jsii.String("require"),
		},
		Secrets: map[string]awsecs.Secret{
			"PG_META_DB_USER":     secret(props.Login, jsii.String("username")),
			"PG_META_DB_PASSWORD": secret(props.Login, jsii.String("password")),
		},
		HealthCheck: []string{"CMD", "node", "-e", "fetch('http://127.0.0.1:8080/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"},
	})
	return &PostgresMeta{ContainerService: svc}
}
