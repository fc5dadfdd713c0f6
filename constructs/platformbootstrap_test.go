package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"
)

func TestPlatformBootstrap(t *testing.T) {
	stack := newStack(t)
	vpc := importedVpc(stack)
	primarySG := importedSG(stack, "PrimarySg", "sg-000000000000000c1")
	dbAdmin := awsec2.NewSecurityGroup(stack, jsii.String("DbAdmin"), &awsec2.SecurityGroupProps{Vpc: vpc})
	dbs := &Databases{
		Key:     awskms.NewKey(stack, jsii.String("Key"), nil),
		Primary: Database{ID: "primary", Instance: testInstance(stack, "Primary", vpc, primarySG), SecurityGroup: primarySG},
		Workers: []Database{{ID: "w-1", Instance: testInstance(stack, "Worker", vpc, primarySG), SecurityGroup: primarySG}},
	}
	b := NewPlatformBootstrap(stack, "PlatformBootstrap", &PlatformBootstrapProps{
		Vpc: vpc, Databases: dbs, SecurityGroups: &SecurityGroups{DbAdmin: dbAdmin}, ServicesDir: servicesDir, LogRetention: awslogs.RetentionDays_ONE_WEEK,
	})
	x := synth(t, stack)
	fn, resource := logicalID(stack, b.Function), logicalID(stack, b.Resource)
	kong, tm := logicalID(stack, b.KongSecret), logicalID(stack, b.TenantManagerSecret)
	primaryMaster, workerMaster := logicalID(stack, dbs.Primary.Instance.Secret()), logicalID(stack, dbs.Workers[0].Instance.Secret())

	t.Run("logins kong and tenant_manager: generated under the key, attached to the primary", func(t *testing.T) {
		for _, user := range []string{"kong", "tenant_manager"} {
			p, tpl := x.secretOfUser(t, user)
			require.Equal(t, toJSON(getAtt(logicalID(stack, dbs.Key), "Arn")), toJSON(p["KmsKeyId"]))
			require.Contains(t, tpl, `"masterarn":"{Ref:`+primaryMaster+`}"`)
		}
		for _, id := range []string{kong, tm} {
			require.Equal(t, "AWS::SecretsManager::SecretTargetAttachment", x.resource(t, id)["Type"])
			require.Equal(t, toJSON(ref(logicalID(stack, dbs.Primary.Instance))), toJSON(props(x.resource(t, id))["TargetId"]))
		}
	})
	t.Run("rotated multi-user by the primary's master, after the bootstrap made the roles", func(t *testing.T) {
		for _, id := range []string{kong, tm} {
			schedule := x.only(t, "AWS::SecretsManager::RotationSchedule", map[string]any{"SecretId": ref(id)})
			require.Contains(t, x.resource(t, schedule)["DependsOn"], resource)
		}
		x.countWith(t, "AWS::Serverless::Application", map[string]any{"Parameters": like(map[string]any{
			"masterSecretArn":     ref(primaryMaster),
			"vpcSecurityGroupIds": getAtt(logicalID(stack, dbAdmin), "GroupId"),
		})}, 2)
	})
	t.Run("db-admin: image function in the private subnets with the DbAdmin group", func(t *testing.T) {
		x.has(t, "AWS::Lambda::Function", map[string]any{
			"PackageType": "Image", "Architectures": []any{"x86_64"}, "MemorySize": 256, "Timeout": 300,
			"VpcConfig": map[string]any{"SubnetIds": toAnySlice(privateSubnetIDs), "SecurityGroupIds": []any{getAtt(logicalID(stack, dbAdmin), "GroupId")}},
		})
		env := props(x.resource(t, fn))["Environment"].(map[string]any)["Variables"].(map[string]any)
		require.Equal(t, "require", env["DB_SSLMODE"])
		instances := joined(env["INSTANCES"])
		require.Contains(t, instances, `"primary":"{Ref:`+primaryMaster+`}"`)
		require.Contains(t, instances, `"w-1":"{Ref:`+workerMaster+`}"`)
		require.Contains(t, toJSON(x.resource(t, fn)["Metadata"]), "W3005")
	})
	t.Run("it reads the master secrets and the logins it creates", func(t *testing.T) {
		statements := capture()
		x.has(t, "AWS::IAM::Policy", map[string]any{
			"Roles":          []any{ref(logicalID(stack, b.Function.Role()))},
			"PolicyDocument": like(map[string]any{"Statement": statements}),
		})
		var read []string
		for _, s := range toMap(t, map[string]any{"s": statements.AsArray()})["s"].([]any) {
			st := s.(map[string]any)
			if toJSON(st["Action"]) == `["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"]` {
				read = append(read, joined(st["Resource"]))
			}
		}
		require.ElementsMatch(t, []string{"{Ref:" + primaryMaster + "}", "{Ref:" + workerMaster + "}", "{Ref:" + kong + "}", "{Ref:" + tm + "}"}, read)
	})
	t.Run("the bootstrap resource: the function, the three secrets, re-run when the image changes, retained", func(t *testing.T) {
		x.hasResource(t, "Custom::PlatformBootstrap", map[string]any{"DeletionPolicy": "Retain", "Properties": map[string]any{
			"ServiceToken": getAtt(fn, "Arn"), "MasterSecretArn": ref(primaryMaster),
			"KongSecretArn": ref(kong), "TenantManagerSecretArn": ref(tm), "Version": *b.Image.AssetHash(),
		}})
	})
	t.Run("its log group goes with the stack", func(t *testing.T) {
		x.hasResource(t, "AWS::Logs::LogGroup", map[string]any{"DeletionPolicy": "Delete", "Properties": map[string]any{"RetentionInDays": 7}})
	})
}
