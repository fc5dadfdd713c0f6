package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

func TestEndUserPool(t *testing.T) {
	stack := newStack(t)
	pool := NewEndUserPool(stack, "EndUserPool", &EndUserPoolProps{})
	awscdk.NewCfnOutput(stack, jsii.String("Issuer"), &awscdk.CfnOutputProps{Value: pool.Issuer()})
	x := synth(t, stack)

	t.Run("administrator-created end users, email sign-in, kept on deletion", func(t *testing.T) {
		x.count(t, "AWS::Cognito::UserPool", 1)
		x.hasResource(t, "AWS::Cognito::UserPool", map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": like(map[string]any{
				"AdminCreateUserConfig":  map[string]any{"AllowAdminCreateUserOnly": true},
				"UsernameAttributes":     []any{"email"},
				"AutoVerifiedAttributes": []any{"email"},
				"MfaConfiguration":       "OPTIONAL",
				"EnabledMfas":            []any{"SOFTWARE_TOKEN_MFA"},
				"Policies": map[string]any{"PasswordPolicy": like(map[string]any{
					"MinimumLength": 12, "RequireLowercase": true, "RequireUppercase": true, "RequireNumbers": true, "RequireSymbols": true,
				})},
			}),
		})
	})
	t.Run("a public app client: no secret, SRP and password sign-in, one-hour tokens, no user enumeration", func(t *testing.T) {
		x.has(t, "AWS::Cognito::UserPoolClient", map[string]any{
			"GenerateSecret":             false,
			"ExplicitAuthFlows":          arrayWith("ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"),
			"PreventUserExistenceErrors": "ENABLED",
			"IdTokenValidity":            60,
			"AccessTokenValidity":        60,
			"EnableTokenRevocation":      true,
		})
	})
	t.Run("the issuer is the pool's provider URL, the value third-party auth registers", func(t *testing.T) {
		issuer := capture()
		x.hasOutput(t, "Issuer", map[string]any{"Value": issuer})
		require.Equal(t, getAtt(logicalID(stack, pool.UserPool), "ProviderURL"), toMap(t, issuer.AsObject()))
	})
	t.Run("self sign-up is an option", func(t *testing.T) {
		other := newStack(t)
		NewEndUserPool(other, "EndUserPool", &EndUserPoolProps{SelfSignUp: true})
		synth(t, other).has(t, "AWS::Cognito::UserPool", map[string]any{"AdminCreateUserConfig": map[string]any{"AllowAdminCreateUserOnly": false}})
	})
}
