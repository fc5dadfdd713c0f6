package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

func TestDatabases(t *testing.T) {
	stack := newStack(t)
	vpc := importedVpc(stack)
	sgs := NewSecurityGroups(stack, "SecurityGroups", &SecurityGroupsProps{Vpc: vpc})
	primary := config.Instance{InstanceClass: "db.t4g.medium", AllocatedStorageGiB: 50, MultiAz: true, BackupRetentionDays: 14, DeletionProtection: true}
	worker := config.Instance{InstanceClass: "db.t3.micro", AllocatedStorageGiB: 20, MaxAllocatedStorageGiB: 200, BackupRetentionDays: 3}
	dbs := NewDatabases(stack, "Databases", &DatabasesProps{
		Vpc: vpc, NamePrefix: "acme", SecurityGroups: sgs, LogRetention: awslogs.RetentionDays_ONE_WEEK,
		Config: config.Database{EngineVersion: "16.4", RemovalPolicy: "retain", Primary: primary,
			Workers: []config.Worker{{ID: "tenant-a", MaxTenants: 10, Instance: worker}}},
	})
	x := synth(t, stack)
	key := logicalID(stack, dbs.Key)
	primaryID, workerID := logicalID(stack, dbs.Primary.Instance), logicalID(stack, dbs.Workers[0].Instance)

	t.Run("one rotated, retained customer key", func(t *testing.T) {
		x.count(t, "AWS::KMS::Key", 1)
		x.hasResource(t, "AWS::KMS::Key", map[string]any{"DeletionPolicy": "Retain", "Properties": like(map[string]any{"EnableKeyRotation": true})})
	})
	t.Run("TLS forced and SCRAM passwords", func(t *testing.T) {
		x.has(t, "AWS::RDS::DBParameterGroup", map[string]any{
			"Family":     "postgres16",
			"Parameters": map[string]any{"rds.force_ssl": "1", "password_encryption": "scram-sha-256", "temp_file_limit": "2097152"},
		})
	})
	t.Run("instances: private, encrypted, sized and protected as configured", func(t *testing.T) {
		common := func(m map[string]any) map[string]any {
			for k, v := range map[string]any{
				"Engine": "postgres", "EngineVersion": "16.4", "PubliclyAccessible": false, "StorageEncrypted": true,
				"KmsKeyId": getAtt(key, "Arn"), "StorageType": "gp3", "CopyTagsToSnapshot": true, "AutoMinorVersionUpgrade": true,
				"EnablePerformanceInsights": false, "EnableCloudwatchLogsExports": []any{"postgresql", "upgrade"},
				"DBParameterGroupName": ref(x.only(t, "AWS::RDS::DBParameterGroup", map[string]any{})),
			} {
				m[k] = v
			}
			return m
		}
		x.hasResource(t, "AWS::RDS::DBInstance", map[string]any{"DeletionPolicy": "Retain", "Properties": like(common(map[string]any{
			"DBInstanceIdentifier": "acme-primary", "DBInstanceClass": "db.t4g.medium", "AllocatedStorage": "50",
			"MultiAZ": true, "DeletionProtection": true, "BackupRetentionPeriod": 14, "MaxAllocatedStorage": absent(),
			"VPCSecurityGroups": []any{getAtt(logicalID(stack, sgs.PrimaryDb), "GroupId")},
			"Tags":              arrayWith(map[string]any{"Key": "supabase:role", "Value": "platform"}),
		}))})
		x.hasResource(t, "AWS::RDS::DBInstance", map[string]any{"DeletionPolicy": "Retain", "Properties": like(common(map[string]any{
			"DBInstanceIdentifier": "acme-tenant-a", "DBInstanceClass": "db.t3.micro", "AllocatedStorage": "20",
			"MultiAZ": false, "DeletionProtection": false, "BackupRetentionPeriod": 3, "MaxAllocatedStorage": 200,
			"VPCSecurityGroups": []any{getAtt(logicalID(stack, sgs.WorkerDb), "GroupId")},
			"Tags":              arrayWith(map[string]any{"Key": "supabase:role", "Value": "worker"}),
		}))})
	})
	t.Run("in the isolated subnets", func(t *testing.T) {
		x.allHave(t, "AWS::RDS::DBSubnetGroup", map[string]any{"SubnetIds": toAnySlice(isolatedSubnetID)})
	})
	t.Run("log groups with retention exist before the instance", func(t *testing.T) {
		for _, name := range []string{"postgresql", "upgrade"} {
			lg := x.only(t, "AWS::Logs::LogGroup", map[string]any{"LogGroupName": "/aws/rds/instance/acme-tenant-a/" + name, "RetentionInDays": 7})
			require.Contains(t, x.resource(t, workerID)["DependsOn"], lg)
		}
	})
	t.Run("master secrets: supabase_admin under the key, rotated every 30 days by the DbAdmin group", func(t *testing.T) {
		x.countWith(t, "AWS::SecretsManager::Secret", map[string]any{
			"KmsKeyId":             getAtt(key, "Arn"),
			"GenerateSecretString": like(map[string]any{"SecretStringTemplate": `{"username":"supabase_admin"}`}),
		}, 2)
		x.countWith(t, "AWS::SecretsManager::RotationSchedule", map[string]any{
			"RotationRules": map[string]any{"ScheduleExpression": "rate(30 days)"},
		}, 2)
		x.allHave(t, "AWS::Serverless::Application", map[string]any{"Parameters": like(map[string]any{
			"vpcSecurityGroupIds": getAtt(logicalID(stack, sgs.DbAdmin), "GroupId"),
			"excludeCharacters":   rdsExcludedPasswordCharacters,
		})})
		for _, m := range x.json["Mappings"].(map[string]any) {
			require.Contains(t, toJSON(m), "SecretsManagerRDSPostgreSQLRotationSingleUser")
		}
	})
	t.Run("accepted findings follow the configuration", func(t *testing.T) {
		require.NotContains(t, suppressed(x.resource(t, primaryID)), "AwsSolutions-RDS3")
		require.NotContains(t, suppressed(x.resource(t, primaryID)), "AwsSolutions-RDS10")
		require.Contains(t, suppressed(x.resource(t, workerID)), "AwsSolutions-RDS3")
		require.Contains(t, suppressed(x.resource(t, workerID)), "AwsSolutions-RDS10")
	})
}

func TestConstructID(t *testing.T) {
	require.Equal(t, "SupabaseWorker01", constructID("supabase-worker-01"))
	require.Equal(t, "PostgresMeta", constructID("postgres_meta"))
	require.Equal(t, "16", majorVersion("16.13"))
}
