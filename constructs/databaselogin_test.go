package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

func TestDatabaseLogin(t *testing.T) {
	stack := newStack(t)
	vpc := importedVpc(stack)
	target, rotator := importedSG(stack, "Target", "sg-000000000000000b1"), importedSG(stack, "Rotator", "sg-000000000000000b2")
	instance := testInstance(stack, "Worker", vpc, target)
	admin := awslambda.NewFunction(stack, jsii.String("Admin"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_NODEJS_22_X(), Handler: jsii.String("index.handler"), Code: awslambda.Code_FromInline(jsii.String("x")),
	})
	key := awskms.NewKey(stack, jsii.String("Key"), nil)
	login := NewDatabaseLogin(stack, "MetaLogin", &DatabaseLoginProps{
		Admin: admin, Instance: instance, Username: "postgres_meta", MemberOf: []string{"pg_monitor", "pg_read_all_data"},
		Key: key, Target: target, Rotator: rotator, Vpc: vpc,
	})
	x := synth(t, stack)
	loginID, resourceID := logicalID(stack, login.Secret), logicalID(stack, login.Resource)
	masterID := logicalID(stack, instance.Secret())

	t.Run("a generated secret under the key, attached to the instance", func(t *testing.T) {
		secret := capture()
		x.has(t, "AWS::SecretsManager::SecretTargetAttachment", map[string]any{
			"SecretId": secret, "TargetId": ref(logicalID(stack, instance)), "TargetType": "AWS::RDS::DBInstance",
		})
		p, tpl := x.secretOfUser(t, "postgres_meta")
		require.Equal(t, toJSON(getAtt(logicalID(stack, key), "Arn")), toJSON(p["KmsKeyId"]))
		require.Equal(t, rdsExcludedPasswordCharacters, p["GenerateSecretString"].(map[string]any)["ExcludeCharacters"])
		require.Contains(t, tpl, `"masterarn":"{Ref:`+masterID+`}"`, "the master rotates it")
		require.Equal(t, "AWS::SecretsManager::Secret", x.resource(t, refOf(t, secret))["Type"])
	})
	t.Run("db-admin creates the role, kept when the stack goes", func(t *testing.T) {
		x.hasResource(t, "Custom::DatabaseLogin", map[string]any{"DeletionPolicy": "Retain", "Properties": map[string]any{
			"ServiceToken":    getAtt(logicalID(stack, admin), "Arn"),
			"MasterSecretArn": ref(masterID), "LoginSecretArn": ref(loginID),
			"Role": "postgres_meta", "MemberOf": []any{"pg_monitor", "pg_read_all_data"},
		}})
		x.has(t, "AWS::IAM::Policy", map[string]any{
			"Roles": []any{ref(logicalID(stack, admin.Role()))},
			"PolicyDocument": like(map[string]any{"Statement": arrayWith(like(map[string]any{
				"Action": []any{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, "Resource": ref(loginID),
			}))}),
		})
	})
	t.Run("multi-user rotation by the master, after the role exists", func(t *testing.T) {
		schedule := x.only(t, "AWS::SecretsManager::RotationSchedule", map[string]any{"SecretId": ref(loginID)})
		require.Contains(t, x.resource(t, schedule)["DependsOn"], resourceID)
		app := x.only(t, "AWS::Serverless::Application", map[string]any{"Parameters": like(map[string]any{"masterSecretArn": ref(masterID)})})
		require.Contains(t, x.resource(t, app)["DependsOn"], resourceID)
		mapping := toJSON(x.json["Mappings"])
		require.Contains(t, mapping, "SecretsManagerRDSPostgreSQLRotationMultiUser")
		require.NotContains(t, mapping, "SecretsManagerRDSPostgreSQLRotationSingleUser")
	})
	t.Run("the rotator reaches 5432 by a literal port rule", func(t *testing.T) {
		x.has(t, "AWS::EC2::SecurityGroupIngress", map[string]any{
			"GroupId": "sg-000000000000000b1", "SourceSecurityGroupId": "sg-000000000000000b2", "FromPort": PortPostgres, "ToPort": PortPostgres,
		})
		x.allHave(t, "AWS::EC2::SecurityGroupIngress", map[string]any{"FromPort": PortPostgres, "ToPort": PortPostgres})
	})
}
