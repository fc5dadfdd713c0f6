package platform

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

// Two Outputs constructs over the same small resources: one for each
// Studio authentication mode.
func TestOutputs(t *testing.T) {
	stack := newStack(t)
	vpc := importedVpc(stack)
	sg := importedSG(stack, "DbSg", "sg-000000000000000e1")
	dbs := &Databases{
		Primary: Database{ID: "primary", Instance: testInstance(stack, "Primary", vpc, sg)},
		Workers: []Database{{ID: "supabase-worker-01", Instance: testInstance(stack, "Worker", vpc, sg)}},
	}
	fn := awslambda.NewDockerImageFunction(stack, jsii.String("DbAdmin"), &awslambda.DockerImageFunctionProps{
		Code: awslambda.DockerImageCode_FromEcr(awsecr.Repository_FromRepositoryName(stack, jsii.String("Repo"), jsii.String("db-admin")), nil),
	})
	bootstrap := &PlatformBootstrap{Function: fn, KongSecret: importedSecret(stack, "Kong", "kong-login"), TenantManagerSecret: importedSecret(stack, "Tm", "tm-login")}
	lbs := &LoadBalancers{KongURL: jsii.String("https://api.example.com"), StudioURL: jsii.String("https://studio.example.com"), ManagerURL: jsii.String("https://manager.example.com")}
	admin := awssecretsmanager.NewSecret(stack, jsii.String("AdminToken"), nil)
	topic := awssns.NewTopic(stack, jsii.String("Alarms"), nil)
	password := awssecretsmanager.NewSecret(stack, jsii.String("StudioPassword"), nil)
	pool := awscognito.NewUserPool(stack, jsii.String("Users"), nil)
	for id, auth := range map[string]*StudioAuth{"Basic": {Password: password}, "Cognito": {UserPool: pool}} {
		NewOutputs(stack, id, &OutputsProps{
			Databases: dbs, Bootstrap: bootstrap, LoadBalancers: lbs, Secrets: &PlatformSecrets{AdminToken: admin},
			Observability: &Observability{Topic: topic}, StudioAuth: auth,
		})
	}
	x := synth(t, stack)
	outputs := x.json["Outputs"].(map[string]any)
	value := func(t *testing.T, name string) any {
		t.Helper()
		var found []any
		for id, o := range outputs {
			if strings.HasPrefix(id, name) {
				found = append(found, o.(map[string]any)["Value"])
			}
		}
		require.Len(t, found, 1, name)
		return found[0]
	}

	t.Run("the endpoints", func(t *testing.T) {
		require.Equal(t, "https://api.example.com", value(t, "BasicApiUrl"))
		require.Equal(t, "https://studio.example.com", value(t, "BasicStudioUrl"))
		require.Equal(t, "https://manager.example.com", value(t, "BasicManagerUrl"))
		p := logicalID(stack, dbs.Primary.Instance)
		require.Equal(t, "{GetAtt:"+p+".Endpoint.Address}:{GetAtt:"+p+".Endpoint.Port}", joined(value(t, "BasicPrimaryEndpoint")))
		w := logicalID(stack, dbs.Workers[0].Instance)
		require.Equal(t, "{GetAtt:"+w+".Endpoint.Address}:{GetAtt:"+w+".Endpoint.Port}", joined(value(t, "BasicWorkerSupabaseWorker01Endpoint")))
	})
	t.Run("secret ARNs and names, never secret values", func(t *testing.T) {
		require.Equal(t, ref(logicalID(stack, admin)), value(t, "BasicAdminTokenSecretArn"))
		require.Equal(t, ref(logicalID(stack, dbs.Primary.Instance.Secret())), value(t, "BasicPrimarySecretArn"))
		require.Equal(t, secretArn("kong-login"), value(t, "BasicKongDbSecretArn"))
		require.Equal(t, secretArn("tm-login"), value(t, "BasicTenantManagerDbSecretArn"))
		require.Equal(t, ref(logicalID(stack, fn)), value(t, "BasicDbAdminFunctionName"))
		require.Equal(t, ref(logicalID(stack, topic)), value(t, "BasicAlarmTopicArn"))
		require.NotContains(t, toJSON(outputs), "resolve:secretsmanager")
		require.NotContains(t, toJSON(outputs), "SecretString")
	})
	t.Run("Studio: the password's ARN in Basic mode, the user pool in Cognito mode", func(t *testing.T) {
		require.Equal(t, ref(logicalID(stack, password)), value(t, "BasicStudioPasswordSecretArn"))
		require.Equal(t, ref(logicalID(stack, pool)), value(t, "CognitoStudioUserPoolId"))
		for id := range outputs {
			require.NotEqual(t, true, strings.HasPrefix(id, "BasicStudioUserPoolId"), id)
			require.NotEqual(t, true, strings.HasPrefix(id, "CognitoStudioPasswordSecretArn"), id)
		}
	})
}
