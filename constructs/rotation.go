package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// rdsExcludedPasswordCharacters are the characters CDK leaves out of
// generated RDS passwords; rotation must generate the same kind.
const rdsExcludedPasswordCharacters = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"

type rotationProps struct {
	Secret awssecretsmanager.ISecret
	// MasterSecret, when set, makes it a multi-user rotation: the master
	// alternates the secret between the user and a clone of it, so clients
	// never hold a password that stopped working.
	MasterSecret awssecretsmanager.ISecret
	// Target is the instance's security group.
	Target awsec2.ISecurityGroup
	Vpc    awsec2.IVpc
	// Rotator is the rotation Lambda's group (DbAdmin).
	Rotator awsec2.ISecurityGroup
}

// rotateSecret rotates a PostgreSQL secret every 30 days. The rotation
// Lambda runs with the DbAdmin group, whose 5432 access is already in the
// security-group matrix (docs/architecture.md); the target is given with a literal port so the rule CDK
// adds is that same rule, not a second one on the instance's port
// attribute (which is what AddRotationSingleUser would add).
func rotateSecret(scope constructs.Construct, id string, p rotationProps) awssecretsmanager.SecretRotation {
	app := awssecretsmanager.SecretRotationApplication_POSTGRES_ROTATION_SINGLE_USER()
	if p.MasterSecret != nil {
		app = awssecretsmanager.SecretRotationApplication_POSTGRES_ROTATION_MULTI_USER()
	}
	return awssecretsmanager.NewSecretRotation(scope, jsii.String(id), &awssecretsmanager.SecretRotationProps{
		Application:  app,
		Secret:       p.Secret,
		MasterSecret: p.MasterSecret,
		Target: awsec2.NewConnections(&awsec2.ConnectionsProps{
			SecurityGroups: &[]awsec2.ISecurityGroup{p.Target},
			DefaultPort:    awsec2.Port_Tcp(jsii.Number(PortPostgres)),
		}),
		Vpc:                p.Vpc,
		VpcSubnets:         PrivateSubnets(),
		SecurityGroup:      p.Rotator,
		AutomaticallyAfter: awscdk.Duration_Days(jsii.Number(30)),
		ExcludeCharacters:  jsii.String(rdsExcludedPasswordCharacters),
	})
}
