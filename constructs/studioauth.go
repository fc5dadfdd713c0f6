package platform

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	elbactions "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2actions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

type StudioAuthProps struct {
	// Cognito selects ALB authentication with a Cognito user pool (needs
	// StudioHost and HTTPS); otherwise Studio's container asks for HTTP
	// Basic credentials held in Secrets Manager.
	Cognito bool
	// StudioHost is Studio's public host name, e.g. studio.example.com.
	StudioHost string
	// DomainPrefix names the user pool's hosted sign-in domain
	// (<prefix>.auth.<region>.amazoncognito.com); it must be unique in the
	// region, so the account id is appended.
	DomainPrefix string
	Key          awskms.IKey
}

// StudioAuth is who may use Supabase Studio. Only operators use it, so
// there is no self sign-up: with Cognito, operators are created by an
// administrator and must use a TOTP second factor; with Basic, there is
// one generated password.
type StudioAuth struct {
	constructs.Construct
	UserPool       awscognito.UserPool
	UserPoolClient awscognito.UserPoolClient
	UserPoolDomain awscognito.UserPoolDomain
	Password       awssecretsmanager.Secret
}

func NewStudioAuth(scope constructs.Construct, id string, props *StudioAuthProps) *StudioAuth {
	this := constructs.NewConstruct(scope, jsii.String(id))
	a := &StudioAuth{Construct: this}
	if !props.Cognito {
		a.Password = awssecretsmanager.NewSecret(this, jsii.String("Password"), &awssecretsmanager.SecretProps{
			Description:   jsii.String("Supabase platform: Studio's HTTP Basic password (user supabase)"),
			EncryptionKey: props.Key,
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				PasswordLength:     jsii.Number(32),
				ExcludePunctuation: jsii.Bool(true),
			},
		})
		suppress(a.Password, suppression{"SMG4", "Operators rotate Studio's password by putting a new secret value and restarting the Studio service; no other client holds it."})
		return a
	}
	a.UserPool = awscognito.NewUserPool(this, jsii.String("Users"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(false),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		Mfa:               awscognito.Mfa_REQUIRED,
		MfaSecondFactor:   &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(14), RequireLowercase: jsii.Bool(true), RequireUppercase: jsii.Bool(true),
			RequireDigits: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		AccountRecovery: awscognito.AccountRecovery_EMAIL_ONLY,
		// The operators' accounts are state: a stack deletion keeps them.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	suppress(a.UserPool, suppression{"COG3", "Threat protection is a paid Cognito feature; this pool is for a few operators, admin-created only (no self sign-up), with a TOTP second factor required."})
	a.UserPoolDomain = a.UserPool.AddDomain(jsii.String("SignIn"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{
			DomainPrefix: awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String(strings.ToLower(props.DomainPrefix)), awscdk.Aws_ACCOUNT_ID()}),
		},
	})
	a.UserPoolClient = a.UserPool.AddClient(jsii.String("Studio"), &awscognito.UserPoolClientOptions{
		GenerateSecret: jsii.Bool(true),
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL()},
			CallbackUrls: jsii.Strings("https://" + props.StudioHost + "/oauth2/idpresponse"),
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		PreventUserExistenceErrors: jsii.Bool(true),
	})
	return a
}

// Authenticate puts the ALB's Cognito sign-in in front of next; in Basic
// mode the container authenticates and next is returned as it is.
func (a *StudioAuth) Authenticate(next elb.ListenerAction) elb.ListenerAction {
	if a.UserPool == nil {
		return next
	}
	return elbactions.NewAuthenticateCognitoAction(&elbactions.AuthenticateCognitoActionProps{
		Next:           next,
		UserPool:       a.UserPool,
		UserPoolClient: a.UserPoolClient,
		UserPoolDomain: a.UserPoolDomain,
		Scope:          jsii.String("openid email"),
		SessionTimeout: awscdk.Duration_Hours(jsii.Number(12)),
	})
}

// ContainerEnv and ContainerSecrets tell Studio's authenticating proxy
// what to do: check Basic credentials, or trust the ALB in front of it.
func (a *StudioAuth) ContainerEnv() map[string]*string {
	if a.UserPool != nil {
		return map[string]*string{"STUDIO_AUTH": jsii.String("none")}
	}
	return map[string]*string{"STUDIO_AUTH": jsii.String("basic"), "STUDIO_USERNAME": jsii.String("supabase")}
}

func (a *StudioAuth) ContainerSecrets() map[string]awsecs.Secret {
	if a.Password == nil {
		return map[string]awsecs.Secret{}
	}
	return map[string]awsecs.Secret{"STUDIO_PASSWORD": awsecs.Secret_FromSecretsManager(a.Password, nil)}
}
