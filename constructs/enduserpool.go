package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

type EndUserPoolProps struct {
	// SelfSignUp lets anyone create an account; otherwise an administrator
	// creates users.
	SelfSignUp bool
}

// EndUserPool is an optional Cognito user pool for the end users of tenant
// apps. A project trusts it by registering its issuer as third-party auth;
// the gateway then turns the pool's ID or access tokens into the
// `authenticated` role. It is one pool for the platform: which projects
// trust it is each project's own setting.
type EndUserPool struct {
	constructs.Construct
	UserPool awscognito.UserPool
	Client   awscognito.UserPoolClient
}

func NewEndUserPool(scope constructs.Construct, id string, props *EndUserPoolProps) *EndUserPool {
	this := constructs.NewConstruct(scope, jsii.String(id))
	pool := awscognito.NewUserPool(this, jsii.String("Users"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(props.SelfSignUp),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		Mfa:               awscognito.Mfa_OPTIONAL,
		MfaSecondFactor:   &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(12), RequireLowercase: jsii.Bool(true), RequireUppercase: jsii.Bool(true),
			RequireDigits: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
		},
		AccountRecovery: awscognito.AccountRecovery_EMAIL_ONLY,
		// End users' accounts are state: a stack deletion keeps them.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	suppress(pool, suppression{"COG2", "End users of tenant apps choose a TOTP second factor themselves (MFA optional); requiring it is each app's decision, not the platform's."},
		suppression{"COG3", "Threat protection is a paid Cognito feature billed per active user; operators enable it on the pool when their apps need it."})
	// A public client (no secret): browsers and mobile apps sign in
	// directly. Tokens live an hour, like Supabase's.
	client := pool.AddClient(jsii.String("Apps"), &awscognito.UserPoolClientOptions{
		GenerateSecret:             jsii.Bool(false),
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true), UserPassword: jsii.Bool(true)},
		PreventUserExistenceErrors: jsii.Bool(true),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
		EnableTokenRevocation:      jsii.Bool(true),
	})
	return &EndUserPool{Construct: this, UserPool: pool, Client: client}
}

// Issuer is the pool's OIDC issuer, the value a project registers as
// third-party auth: https://cognito-idp.<region>.amazonaws.com/<pool id>.
func (p *EndUserPool) Issuer() *string { return p.UserPool.UserPoolProviderUrl() }
