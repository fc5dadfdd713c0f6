package platform

import (
	"testing"

	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

// Both modes in one stack: Basic (a generated password) and Cognito
// (admin-created operators with a TOTP second factor).
func TestStudioAuth(t *testing.T) {
	stack := newStack(t)
	key := awskms.Key_FromKeyArn(stack, jsii.String("Key"), jsii.String("arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
	basic := NewStudioAuth(stack, "Basic", &StudioAuthProps{Key: key})
	cognito := NewStudioAuth(stack, "Cognito", &StudioAuthProps{Cognito: true, StudioHost: "studio.example.com", DomainPrefix: "My-Stack-studio", Key: key})
	x := synth(t, stack)

	t.Run("basic: a generated password under the platform key, no user pool", func(t *testing.T) {
		require.Nil(t, basic.UserPool)
		x.count(t, "AWS::SecretsManager::Secret", 1)
		x.has(t, "AWS::SecretsManager::Secret", map[string]any{
			"KmsKeyId":             "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			"GenerateSecretString": map[string]any{"PasswordLength": 32, "ExcludePunctuation": true},
		})
		require.Equal(t, "basic", *basic.ContainerEnv()["STUDIO_AUTH"])
		require.Equal(t, "supabase", *basic.ContainerEnv()["STUDIO_USERNAME"])
		require.Contains(t, basic.ContainerSecrets(), "STUDIO_PASSWORD")
		next := elb.ListenerAction_FixedResponse(jsii.Number(200), nil)
		require.True(t, basic.Authenticate(next) == next, "the container authenticates: the ALB forwards as it is")
	})
	t.Run("cognito: operators only, TOTP required, strong passwords, kept on deletion", func(t *testing.T) {
		require.Nil(t, cognito.Password)
		x.count(t, "AWS::Cognito::UserPool", 1)
		x.hasResource(t, "AWS::Cognito::UserPool", map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": like(map[string]any{
				"AdminCreateUserConfig": map[string]any{"AllowAdminCreateUserOnly": true},
				"MfaConfiguration":      "ON",
				"EnabledMfas":           []any{"SOFTWARE_TOKEN_MFA"},
				"UsernameAttributes":    []any{"email"},
				"AccountRecoverySetting": map[string]any{"RecoveryMechanisms": []any{
					map[string]any{"Name": "verified_email", "Priority": 1},
				}},
				"Policies": map[string]any{"PasswordPolicy": map[string]any{
					"MinimumLength": 14, "RequireLowercase": true, "RequireUppercase": true, "RequireNumbers": true,
					"RequireSymbols": true, "TemporaryPasswordValidityDays": 3,
				}},
			}),
		})
		require.Equal(t, map[string]*string{"STUDIO_AUTH": jsii.String("none")}, cognito.ContainerEnv())
		require.Empty(t, cognito.ContainerSecrets())
	})
	t.Run("cognito: the hosted domain is the lower-cased prefix and the account", func(t *testing.T) {
		domain := capture()
		x.has(t, "AWS::Cognito::UserPoolDomain", map[string]any{"Domain": domain})
		require.Equal(t, "my-stack-studio-{Ref:AWS::AccountId}", joined(toMap(t, domain.AsObject())))
	})
	t.Run("cognito: the Studio client, code flow back to Studio's host only", func(t *testing.T) {
		x.has(t, "AWS::Cognito::UserPoolClient", map[string]any{
			"UserPoolId": ref(logicalID(stack, cognito.UserPool)), "GenerateSecret": true,
			"AllowedOAuthFlows": []any{"code"}, "AllowedOAuthFlowsUserPoolClient": true,
			"AllowedOAuthScopes": []any{"openid", "email"}, "CallbackURLs": []any{"https://studio.example.com/oauth2/idpresponse"},
			"SupportedIdentityProviders": []any{"COGNITO"}, "PreventUserExistenceErrors": "ENABLED",
		})
	})
}
