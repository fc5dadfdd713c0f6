package lambdas

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stretchr/testify/require"
)

func testSettings() Settings {
	return Settings{ImageURI: "repo:1", RoleARN: "arn:aws:iam::1:role/t", SubnetIDs: []string{"subnet-b", "subnet-a"}, SecurityGroupIDs: []string{"sg-1"},
		MemoryMiB: 512, TimeoutSeconds: 30, ConfigServiceURL: "http://tm:8081", STSEndpoint: "https://sts"}
}

// asCreated is what Lambda reports for a function made with in.
func asCreated(in *lambda.CreateFunctionInput) *lambda.GetFunctionOutput {
	return &lambda.GetFunctionOutput{
		Code: &types.FunctionCodeLocation{ImageUri: in.Code.ImageUri},
		Configuration: &types.FunctionConfiguration{
			Architectures: in.Architectures, MemorySize: in.MemorySize, Timeout: in.Timeout, Role: in.Role,
			Environment:   &types.EnvironmentResponse{Variables: in.Environment.Variables},
			VpcConfig:     &types.VpcConfigResponse{SubnetIds: []string{"subnet-a", "subnet-b"}, SecurityGroupIds: in.VpcConfig.SecurityGroupIds, VpcId: aws.String("vpc-1")},
			LoggingConfig: &types.LoggingConfig{LogGroup: in.LoggingConfig.LogGroup, LogFormat: in.LoggingConfig.LogFormat},
		},
	}
}

func TestSpecCreateAndCompareAgree(t *testing.T) {
	spec := testSettings().Spec("p1")
	fn := asCreated(spec.CreateInput("p1"))
	require.Empty(t, spec.CodeDrift(fn))
	require.Empty(t, spec.ConfigDrift(fn.Configuration))
	require.Equal(t, "x86_64", spec.Architecture)
	require.Equal(t, "/aws/lambda/postgrest-p1", spec.LogGroup)

	// A recycle's generation is not drift.
	fn.Configuration.Environment.Variables["CONFIG_GENERATION"] = "17"
	require.Empty(t, spec.ConfigDrift(fn.Configuration))
	// An answer without a logging configuration is Lambda's default.
	fn.Configuration.LoggingConfig = nil
	require.Empty(t, spec.ConfigDrift(fn.Configuration))
}

func TestSpecDrift(t *testing.T) {
	s := testSettings()
	fn := asCreated(s.Spec("p1").CreateInput("p1"))
	fn.Configuration.Environment.Variables["CONFIG_GENERATION"] = "17"
	s.ImageURI, s.MemoryMiB, s.Architecture = "repo:2", 1024, "arm64"
	s.SecurityGroupIDs = []string{"sg-1", "sg-2"}
	spec := s.Spec("p1")
	require.Equal(t, []string{"image", "architecture"}, spec.CodeDrift(fn))
	require.Equal(t, []string{"memory", "vpc"}, spec.ConfigDrift(fn.Configuration))

	fn.Configuration.Environment.Variables["EXTRA"] = "x"
	fn.Configuration.LoggingConfig.LogGroup = aws.String("/elsewhere")
	require.Equal(t, []string{"memory", "environment", "vpc", "logging"}, spec.ConfigDrift(fn.Configuration))

	in := spec.UpdateConfigInput("p1", fn.Configuration)
	require.Equal(t, "17", in.Environment.Variables["CONFIG_GENERATION"], "the live generation is kept")
	require.NotContains(t, in.Environment.Variables, "EXTRA")
	require.EqualValues(t, 1024, *in.MemorySize)
	require.Equal(t, "/aws/lambda/postgrest-p1", *in.LoggingConfig.LogGroup)
	require.Equal(t, []types.Architecture{"arm64"}, spec.UpdateCodeInput("p1", nil).Architectures)

	require.False(t, spec.URLDrift(&lambda.GetFunctionUrlConfigOutput{AuthType: types.FunctionUrlAuthTypeAwsIam, InvokeMode: types.InvokeModeBuffered}))
	require.True(t, spec.URLDrift(&lambda.GetFunctionUrlConfigOutput{AuthType: types.FunctionUrlAuthTypeNone}))
}
