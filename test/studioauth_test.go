package test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

// Studio is never open to whoever reaches its load balancer: without a
// domain its container asks for HTTP Basic credentials from Secrets
// Manager; with one, the ALB signs operators in with Cognito (TOTP
// required, no self sign-up) before forwarding.
func TestStudioAuthentication(t *testing.T) {
	healthy := func(t *testing.T, s *synthesized) {
		s.template.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), &map[string]any{
			"Port": 8000, "HealthCheckPath": "/_auth-proxy/health",
		})
		require.Contains(t, toJSON(t, containers(s)["studio"]["HealthCheck"]), "/_auth-proxy/health")
	}
	t.Run("basic without a domain", func(t *testing.T) {
		s := synth(t, defaultConfig)
		s.template.ResourceCountIs(jsii.String("AWS::Cognito::UserPool"), jsii.Number(0))
		studio := containers(s)["studio"]
		env := envOf(studio)
		require.Equal(t, "basic", env["STUDIO_AUTH"])
		require.Equal(t, "supabase", env["STUDIO_USERNAME"])
		var password any
		for _, sec := range studio["Secrets"].([]any) {
			if sec.(map[string]any)["Name"] == "STUDIO_PASSWORD" {
				password = sec.(map[string]any)["ValueFrom"]
			}
		}
		require.NotNil(t, password, "the password comes from Secrets Manager")
		require.True(t, fromSecretsManager(s, password))
		require.Contains(t, toJSON(t, s.json["Outputs"]), "StudioPasswordSecretArn")
		healthy(t, s)
	})
	t.Run("cognito with a domain", func(t *testing.T) {
		s := synth(t, domainConfig)
		s.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), &map[string]any{
			"MfaConfiguration":      "ON",
			"AdminCreateUserConfig": map[string]any{"AllowAdminCreateUserOnly": true},
			"Policies":              map[string]any{"PasswordPolicy": assertions.Match_ObjectLike(&map[string]any{"MinimumLength": 14})},
		})
		s.template.HasResource(jsii.String("AWS::Cognito::UserPool"), &map[string]any{"DeletionPolicy": "Retain"})
		s.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), &map[string]any{
			"GenerateSecret":             true,
			"AllowedOAuthFlows":          []any{"code"},
			"CallbackURLs":               []any{"https://studio." + s.cfg.Domain.Name + "/oauth2/idpresponse"},
			"SupportedIdentityProviders": []any{"COGNITO"},
		})
		// Every Studio HTTPS request is authenticated before it is forwarded.
		var studioListener map[string]any
		for _, l := range s.resources("AWS::ElasticLoadBalancingV2::Listener") {
			p := props(l)
			if refID(p["LoadBalancerArn"]) != "" && p["Port"] == float64(443) && strings.Contains(refID(p["LoadBalancerArn"]), "StudioAlb") {
				studioListener = p
			}
		}
		require.NotNil(t, studioListener)
		actions := studioListener["DefaultActions"].([]any)
		require.Len(t, actions, 2)
		require.Equal(t, "authenticate-cognito", actions[0].(map[string]any)["Type"])
		require.Equal(t, "forward", actions[1].(map[string]any)["Type"])
		require.Equal(t, "none", envOf(containers(s)["studio"])["STUDIO_AUTH"], "the ALB has authenticated")
		require.Contains(t, toJSON(t, s.json["Outputs"]), "StudioUserPoolId")
		healthy(t, s)
	})
}
