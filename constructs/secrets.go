package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

type PlatformSecretsProps struct {
	Key awskms.IKey
}

// PlatformSecrets are the tenant-manager's own generated secrets: the admin
// token of the management API and the AES-256 key that seals tenant secrets
// at rest (64 hex digits, so Secrets Manager can generate it).
type PlatformSecrets struct {
	constructs.Construct
	AdminToken    awssecretsmanager.Secret
	EncryptionKey awssecretsmanager.Secret
}

func NewPlatformSecrets(scope constructs.Construct, id string, props *PlatformSecretsProps) *PlatformSecrets {
	this := constructs.NewConstruct(scope, jsii.String(id))
	admin := awssecretsmanager.NewSecret(this, jsii.String("AdminToken"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("Supabase platform: tenant-manager admin token (Authorization: Bearer …)"),
		EncryptionKey: props.Key,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
	})
	key := awssecretsmanager.NewSecret(this, jsii.String("EncryptionKey"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("Supabase platform: AES-256-GCM key sealing tenant JWT secrets and database URIs (64 hex digits)"),
		EncryptionKey: props.Key,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
			ExcludeCharacters:  jsii.String("ghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
		},
	})
	suppress(admin, suppression{"SMG4", "The admin token is rotated by an operator (new secret version, then a rolling restart of the tenant-manager); no client holds it but operators."})
	suppress(key, suppression{"SMG4", "Rotating the encryption key needs re-encrypting every sealed value in supabase_platform; a blind Secrets Manager rotation would make them unreadable."})
	return &PlatformSecrets{Construct: this, AdminToken: admin, EncryptionKey: key}
}
