package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

type DatabaseLoginProps struct {
	// Admin is the db-admin function that creates the role.
	Admin    awslambda.IFunction
	Instance awsrds.DatabaseInstance
	// Username is the login role, e.g. postgres_meta.
	Username string
	// MemberOf are predefined roles the login gets, e.g. pg_monitor.
	MemberOf []string
	Key      awskms.IKey
	// Target is the instance's security group; Rotator the rotation
	// function's (DbAdmin).
	Target, Rotator awsec2.ISecurityGroup
	Vpc             awsec2.IVpc
}

// DatabaseLogin is a service's own login role on an instance, in place of
// the master: a generated secret attached to the instance, the role created
// by db-admin (Custom::DatabaseLogin), and a multi-user rotation by the
// master, so the login a task started with keeps working until the rotation
// after next (the stack redeploys its consumers after each rotation).
type DatabaseLogin struct {
	constructs.Construct
	Secret   awssecretsmanager.ISecret
	Resource awscdk.CustomResource
}

func NewDatabaseLogin(scope constructs.Construct, id string, props *DatabaseLoginProps) *DatabaseLogin {
	this := constructs.NewConstruct(scope, jsii.String(id))
	master := props.Instance.Secret()
	secret := awsrds.NewDatabaseSecret(this, jsii.String("Secret"), &awsrds.DatabaseSecretProps{
		Username:          jsii.String(props.Username),
		EncryptionKey:     props.Key,
		MasterSecret:      master,
		ExcludeCharacters: jsii.String(rdsExcludedPasswordCharacters),
	})
	attached := secret.Attach(props.Instance).(awssecretsmanager.SecretTargetAttachment)
	attached.GrantRead(props.Admin, nil)
	resource := awscdk.NewCustomResource(this, jsii.String("Resource"), &awscdk.CustomResourceProps{
		ServiceToken: props.Admin.FunctionArn(),
		ResourceType: jsii.String("Custom::DatabaseLogin"),
		Properties: &map[string]any{
			"MasterSecretArn": master.SecretArn(),
			"LoginSecretArn":  attached.SecretArn(),
			"Role":            props.Username,
			"MemberOf":        props.MemberOf,
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	rotation := rotateSecret(this, "Rotation", rotationProps{
		Secret:       attached,
		MasterSecret: master,
		Target:       props.Target,
		Vpc:          props.Vpc,
		Rotator:      props.Rotator,
	})
	// The first rotation clones the role, so it must exist by then.
	if schedule := attached.Node().TryFindChild(jsii.String("RotationSchedule")); schedule != nil {
		schedule.Node().AddDependency(resource)
	}
	rotation.Node().AddDependency(resource)
	return &DatabaseLogin{Construct: this, Secret: attached, Resource: resource}
}
