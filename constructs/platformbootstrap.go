package platform

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

type PlatformBootstrapProps struct {
	Vpc            awsec2.IVpc
	Databases      *Databases
	SecurityGroups *SecurityGroups
	// ServicesDir is the folder holding the services' sibling modules.
	ServicesDir  string
	LogRetention awslogs.RetentionDays
}

// PlatformBootstrap is the db-admin Lambda (services/db-admin) and the custom
// resource through which it creates, on the primary, the databases kong and
// supabase_platform and their login roles kong and tenant_manager, whose
// generated secrets it owns. The Kong and tenant-manager services read their
// database credentials from KongSecret and TenantManagerSecret.
type PlatformBootstrap struct {
	constructs.Construct
	Function awslambda.DockerImageFunction
	// Image is db-admin's image, which other functions of the platform run
	// too (the rotation redeploy).
	Image awsecrassets.DockerImageAsset
	// KongSecret and TenantManagerSecret are attached to the primary: they
	// hold username, password, host, port and dbname.
	KongSecret          awssecretsmanager.ISecret
	TenantManagerSecret awssecretsmanager.ISecret
	Resource            awscdk.CustomResource
}

func NewPlatformBootstrap(scope constructs.Construct, id string, props *PlatformBootstrapProps) *PlatformBootstrap {
	this := constructs.NewConstruct(scope, jsii.String(id))
	dbs := props.Databases
	primary := dbs.Primary

	// Login secrets of the platform roles: attached to the primary (so they
	// carry host and port) and rotated by the master, alternating each
	// user with a clone so a running service never holds a dead password.
	var attachments []awssecretsmanager.SecretTargetAttachment
	login := func(name, username string) awssecretsmanager.ISecret {
		secret := awsrds.NewDatabaseSecret(this, jsii.String(name), &awsrds.DatabaseSecretProps{
			Username:          jsii.String(username),
			EncryptionKey:     dbs.Key,
			MasterSecret:      primary.Instance.Secret(),
			ExcludeCharacters: jsii.String(rdsExcludedPasswordCharacters),
		})
		attached := secret.Attach(primary.Instance).(awssecretsmanager.SecretTargetAttachment)
		attachments = append(attachments, attached)
		rotateSecret(this, name+"Rotation", rotationProps{
			Secret:       attached,
			MasterSecret: primary.Instance.Secret(),
			Target:       primary.SecurityGroup,
			Vpc:          props.Vpc,
			Rotator:      props.SecurityGroups.DbAdmin,
		})
		return attached
	}
	kong := login("KongSecret", "kong")
	tm := login("TenantManagerSecret", "tenant_manager")

	// Instance name → master secret ARN, for the admin operations.
	instances := map[string]any{"primary": primary.Instance.Secret().SecretArn()}
	for _, w := range dbs.Workers {
		instances[w.ID] = w.Instance.Secret().SecretArn()
	}
	image := awsecrassets.NewDockerImageAsset(this, jsii.String("Image"), &awsecrassets.DockerImageAssetProps{
		Directory: jsii.String(filepath.Join(props.ServicesDir, "db-admin")),
		Platform:  awsecrassets.Platform_LINUX_AMD64(),
	})
	logs := awslogs.NewLogGroup(this, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     props.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	fn := awslambda.NewDockerImageFunction(this, jsii.String("Function"), &awslambda.DockerImageFunctionProps{
		Description:       jsii.String("Supabase platform db-admin: bootstraps the primary, list_databases, execute_sql"),
		Code:              awslambda.DockerImageCode_FromEcr(image.Repository(), &awslambda.EcrImageCodeProps{TagOrDigest: image.ImageTag()}),
		Architecture:      awslambda.Architecture_X86_64(),
		MemorySize:        jsii.Number(256),
		Timeout:           awscdk.Duration_Minutes(jsii.Number(5)),
		Vpc:               props.Vpc,
		VpcSubnets:        PrivateSubnets(),
		SecurityGroups:    &[]awsec2.ISecurityGroup{props.SecurityGroups.DbAdmin},
		AllowPublicSubnet: jsii.Bool(false),
		LogGroup:          logs,
		Environment: &map[string]*string{
			"INSTANCES":  awscdk.Stack_Of(this).ToJsonString(instances, nil),
			"DB_SSLMODE": jsii.String("require"),
		},
	})
	for _, d := range append([]Database{primary}, dbs.Workers...) {
		d.Instance.Secret().GrantRead(fn, nil)
	}
	kong.GrantRead(fn, nil)
	tm.GrantRead(fn, nil)

	resource := awscdk.NewCustomResource(this, jsii.String("Resource"), &awscdk.CustomResourceProps{
		ServiceToken: fn.FunctionArn(),
		ResourceType: jsii.String("Custom::PlatformBootstrap"),
		Properties: &map[string]any{
			"MasterSecretArn":        primary.Instance.Secret().SecretArn(),
			"KongSecretArn":          kong.SecretArn(),
			"TenantManagerSecretArn": tm.SecretArn(),
			// The image hash changes with the bootstrap code, so a change
			// to it re-runs the bootstrap on the next deploy.
			"Version": image.AssetHash(),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// The master secret's ARN is taken from its attachment to the primary,
	// so the resource already waits for the instance. The platform roles
	// must exist before their first rotation clones them.
	for _, a := range attachments {
		if schedule := a.Node().TryFindChild(jsii.String("RotationSchedule")); schedule != nil {
			schedule.Node().AddDependency(resource)
		}
	}
	// CDK makes a VPC function depend on its role, which its Role GetAtt
	// already does; cfn-lint reports that as W3005.
	fn.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("cfn-lint"),
		map[string]any{"config": map[string]any{"ignore_checks": []string{"W3005"}}})

	suppress(fn, suppression{"IAM4", "AWSLambdaBasicExecutionRole and AWSLambdaVPCAccessExecutionRole are AWS-managed: the ENI actions of VPC access have no resource-level permissions, and the logging actions are scoped by AWS."})
	return &PlatformBootstrap{Construct: this, Function: fn, Image: image, KongSecret: kong, TenantManagerSecret: tm, Resource: resource}
}
