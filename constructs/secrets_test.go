package platform

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

func TestPlatformSecrets(t *testing.T) {
	stack := newStack(t)
	key := awskms.NewKey(stack, jsii.String("Key"), nil)
	s := NewPlatformSecrets(stack, "PlatformSecrets", &PlatformSecretsProps{Key: key})
	x := synth(t, stack)
	keyArn := getAtt(logicalID(stack, key), "Arn")

	t.Run("admin token: 64 characters, no punctuation, under the platform key", func(t *testing.T) {
		x.has(t, "AWS::SecretsManager::Secret", map[string]any{
			"KmsKeyId":             keyArn,
			"GenerateSecretString": map[string]any{"PasswordLength": 64, "ExcludePunctuation": true},
		})
	})
	t.Run("encryption key: 64 hex digits (32 bytes for AES-256)", func(t *testing.T) {
		gen := capture()
		x.has(t, "AWS::SecretsManager::Secret", map[string]any{"KmsKeyId": keyArn, "GenerateSecretString": gen,
			"Description": matches("AES-256")})
		g := toMap(t, gen.AsObject())
		require.Equal(t, float64(64), g["PasswordLength"])
		require.Equal(t, true, g["ExcludePunctuation"])
		// Secrets Manager draws from letters, digits and punctuation; what
		// is left after the exclusions must be exactly the hex digits.
		excluded := g["ExcludeCharacters"].(string)
		var left []rune
		for _, r := range "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" {
			if !strings.ContainsRune(excluded, r) {
				left = append(left, r)
			}
		}
		require.Equal(t, "abcdef0123456789", string(left))
		require.Equal(t, logicalID(stack, s.EncryptionKey), x.only(t, "AWS::SecretsManager::Secret", map[string]any{"GenerateSecretString": like(map[string]any{"ExcludeCharacters": excluded})}))
	})
	t.Run("both are accepted unrotated secrets, with the reason", func(t *testing.T) {
		for _, sec := range x.resources("AWS::SecretsManager::Secret") {
			require.Contains(t, suppressed(sec), "AwsSolutions-SMG4")
		}
		x.count(t, "AWS::SecretsManager::RotationSchedule", 0)
	})
}
