package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

func TestEdgeFunctions(t *testing.T) {
	stack := newStack(t)
	logs := awss3.Bucket_FromBucketName(stack, jsii.String("Logs"), jsii.String("access-logs"))
	e := NewEdgeFunctions(stack, "EdgeFunctions", &EdgeFunctionsProps{ServicesDir: servicesDir, AccessLogs: logs, NoncurrentDays: 30})
	x := synth(t, stack)

	t.Run("bundles: private, KMS-encrypted, versioned, access-logged, kept on deletion", func(t *testing.T) {
		key := capture()
		x.hasResource(t, "AWS::S3::Bucket", map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": like(map[string]any{
				"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{map[string]any{
					"BucketKeyEnabled":              true,
					"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
				}}},
				"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
				"VersioningConfiguration":        map[string]any{"Status": "Enabled"},
				"LoggingConfiguration":           map[string]any{"DestinationBucketName": "access-logs", "LogFilePrefix": "function-bundles/"},
				"LifecycleConfiguration": map[string]any{"Rules": []any{like(map[string]any{
					"NoncurrentVersionExpiration":    map[string]any{"NoncurrentDays": 30},
					"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1},
					"Status":                         "Enabled",
				})}},
			}),
		})
		require.Equal(t, logicalID(stack, e.Bundles.EncryptionKey()), getAttOf(t, key))
	})
	t.Run("TLS only", func(t *testing.T) {
		x.has(t, "AWS::S3::BucketPolicy", map[string]any{"PolicyDocument": like(map[string]any{"Statement": arrayWith(like(map[string]any{
			"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		}))})})
	})
	t.Run("the runtime image is built from services/functions-runtime", func(t *testing.T) {
		require.NotNil(t, e.Image.ImageUri())
	})
}
