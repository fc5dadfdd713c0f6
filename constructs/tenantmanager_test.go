package platform

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

func TestTenantManager(t *testing.T) {
	stack := newStack(t)
	d := newServiceDeps(stack)
	role := taskRole(stack)
	worker := testInstance(stack, "Worker", d.vpc, importedSG(stack, "WorkerSg", "sg-00000000000000009"))
	NewTenantManager(stack, "TenantManager", &TenantManagerProps{
		ServicesDir: servicesDir, Sizing: testSizing, Cluster: d.cluster, LogGroup: d.logs,
		SecurityGroup: importedSG(stack, "Sg", "sg-00000000000000008"), Targets: d.targets(stack, PortService), TaskRole: role,
		Platform: importedInstance(stack, "primary", "primary.example.internal"), PlatformLogin: importedSecret(stack, "Login", "tm-login"),
		Workers: []WorkerEndpoint{{ID: "w-1", Instance: worker, MaxTenants: 7}},
		Redis:   RedisEndpoint{Host: jsii.String("redis.example.internal"), Port: jsii.String("6379"), AuthToken: importedSecret(stack, "Auth", "redis-auth")},
		Functions: TenantFunctionSettings{
			ImageURI:        jsii.String("111111111111.dkr.ecr.us-east-1.amazonaws.com/assets:abc"),
			ImageRepository: awsecr.Repository_FromRepositoryName(stack, jsii.String("Repo"), jsii.String("assets")),
			Role:            awsiam.Role_FromRoleArn(stack, jsii.String("FnRole"), jsii.String("arn:aws:iam::111111111111:role/tenant-fn"), nil),
			SubnetIDs:       jsii.String("subnet-a,subnet-b"), SecurityGroup: importedSG(stack, "FnSg", "sg-00000000000000002"),
			MemoryMiB: 768, TimeoutSeconds: 20, ReservedConcurrency: ptr(3), LogRetentionDays: 14, RetainLogGroup: true,
		},
		Databases: TenantDatabaseSettings{ConnectionLimit: 6, AnonStatementTimeoutSeconds: 2, AuthenticatedStatementTimeoutSeconds: 9, ServiceRoleStatementTimeoutSeconds: 45},
		EdgeFunctions: EdgeFunctionSettings{
			ImageURI:        jsii.String("111111111111.dkr.ecr.us-east-1.amazonaws.com/assets:edge"),
			ImageRepository: awsecr.Repository_FromRepositoryName(stack, jsii.String("EdgeRepo"), jsii.String("edge-assets")),
			Role:            awsiam.Role_FromRoleArn(stack, jsii.String("EdgeRole"), jsii.String("arn:aws:iam::111111111111:role/edge-fn"), nil),
			Bundles:         awss3.Bucket_FromBucketName(stack, jsii.String("Bundles"), jsii.String("bundles")),
			MemoryMiB:       256, TimeoutSeconds: 60, ReservedConcurrency: ptr(2), KeepVersions: 3,
			ProjectURL: jsii.String("https://{ref}.example.com"), SecurityGroup: importedSG(stack, "EdgeSg", "sg-0000000000000000e"),
		},
		AlarmTopic: awssns.Topic_FromTopicArn(stack, jsii.String("Topic"), jsii.String("arn:aws:sns:us-east-1:111111111111:alarms")),
		Alarms: config.TenantAlarms{Kinds: []string{"gateway-5xx", "lambda-errors"}, Gateway5xxThreshold: 12, LambdaErrorsThreshold: 3,
			LambdaThrottlesThreshold: 2, LambdaDurationRatio: 0.75},
		GatewayRole: awsiam.Role_FromRoleArn(stack, jsii.String("GwRole"), jsii.String("arn:aws:iam::111111111111:role/gateway"), nil),
		AdminToken:  importedSecret(stack, "Admin", "admin-token"), EncryptionKey: importedSecret(stack, "Enc", "enc-key"),
	})
	x := synth(t, stack)
	tm := x.container(t, "tenant-manager")
	env := envOf(tm)
	workerSecret := logicalID(stack, worker.Secret())

	t.Run("settings in the environment", func(t *testing.T) {
		for k, v := range map[string]string{
			"PLATFORM_DATABASE_SECRET_ARN": secretArn("tm-login"), "KONG_ADMIN_URL": "http://kong-gateway.kong.local:8001",
			"POSTGREST_IMAGE_URI": "111111111111.dkr.ecr.us-east-1.amazonaws.com/assets:abc", "TENANT_LAMBDA_ROLE_ARN": "arn:aws:iam::111111111111:role/tenant-fn",
			"TENANT_LAMBDA_SUBNET_IDS": "subnet-a,subnet-b", "TENANT_LAMBDA_SECURITY_GROUP_IDS": "sg-00000000000000002",
			"TENANT_LAMBDA_MEMORY_MIB": "768", "TENANT_LAMBDA_TIMEOUT_SECONDS": "20",
			"CONFIG_SERVICE_URL": "http://tenant-manager.kong.local:8081", "LISTEN_ADDR": ":8080", "INTERNAL_LISTEN_ADDR": ":8081",
			"GATEWAY_ROLE_ARN":                   "arn:aws:iam::111111111111:role/gateway",
			"TENANT_LAMBDA_RESERVED_CONCURRENCY": "3", "TENANT_LOG_RETENTION_DAYS": "14", "TENANT_LOG_GROUP_ON_DELETE": "retain",
			"TENANT_DB_CONNECTION_LIMIT": "6", "TENANT_ANON_STATEMENT_TIMEOUT": "2s", "TENANT_AUTHENTICATED_STATEMENT_TIMEOUT": "9s", "TENANT_SERVICE_ROLE_STATEMENT_TIMEOUT": "45s",
			"ALARM_TOPIC_ARN": "arn:aws:sns:us-east-1:111111111111:alarms", "TENANT_ALARMS": "gateway-5xx,lambda-errors",
			"TENANT_ALARM_5XX_THRESHOLD": "12", "TENANT_ALARM_ERRORS_THRESHOLD": "3", "TENANT_ALARM_THROTTLES_THRESHOLD": "2",
			"TENANT_ALARM_DURATION_RATIO": "0.75", "GATEWAY_METRICS_NAMESPACE": "Supabase/Gateway", "GOMEMLIMIT": "409MiB",
			"FUNCTIONS_BUCKET": "bundles", "FUNCTIONS_IMAGE_URI": "111111111111.dkr.ecr.us-east-1.amazonaws.com/assets:edge",
			"FUNCTIONS_LAMBDA_ROLE_ARN": "arn:aws:iam::111111111111:role/edge-fn", "FUNCTIONS_LAMBDA_MEMORY_MIB": "256",
			"FUNCTIONS_LAMBDA_TIMEOUT_SECONDS": "60", "FUNCTIONS_LAMBDA_RESERVED_CONCURRENCY": "2", "FUNCTIONS_KEEP_VERSIONS": "3",
			"FUNCTIONS_PROJECT_URL": "https://{ref}.example.com", "FUNCTIONS_LAMBDA_SECURITY_GROUP_IDS": "sg-0000000000000000e",
		} {
			require.Equal(t, v, env[k], k)
		}
		require.Equal(t, "postgres://primary.example.internal:5432/supabase_platform?sslmode=require", joined(env["PLATFORM_DATABASE_URL"]))
		require.Equal(t, "rediss://redis.example.internal:6379/0", joined(env["REDIS_URL"]))
	})
	t.Run("workers: endpoint and master secret ARN, never a password", func(t *testing.T) {
		workers := joined(env["WORKERS"])
		for _, part := range []string{`"id":"w-1"`, `"sslmode":"require"`, `"maxTenants":7`, `"secretArn":"{Ref:` + workerSecret + `}"`} {
			require.Contains(t, workers, part)
		}
		require.NotContains(t, strings.ToLower(workers), "password")
	})
	t.Run("tokens and keys only from Secrets Manager", func(t *testing.T) {
		require.Equal(t, map[string]any{
			"REDIS_PASSWORD": secretArn("redis-auth"), "ADMIN_TOKEN": secretArn("admin-token"), "ENCRYPTION_KEY": secretArn("enc-key"),
		}, secretsOf(tm))
	})
	t.Run("the load balancer reaches the management port, never the configuration port", func(t *testing.T) {
		require.JSONEq(t, `[{"ContainerPort":8080,"Protocol":"tcp"},{"ContainerPort":8081,"Protocol":"tcp"}]`, toJSON(tm["PortMappings"]))
		x.has(t, "AWS::ECS::Service", map[string]any{"LoadBalancers": []any{like(map[string]any{"ContainerName": "tenant-manager", "ContainerPort": PortService})}})
		x.has(t, "AWS::ServiceDiscovery::Service", map[string]any{"Name": "tenant-manager"})
	})
	t.Run("task role: tenant functions, passing their role to Lambda only, reading the image and the secrets", func(t *testing.T) {
		statements := capture()
		x.has(t, "AWS::IAM::Policy", map[string]any{
			"PolicyDocument": like(map[string]any{"Statement": statements}),
			"Roles":          []any{ref(logicalID(stack, role))},
		})
		bySid := map[string]map[string]any{}
		var reads, bucket []string
		var bucketActions []any
		for _, s := range toMap(t, map[string]any{"s": statements.AsArray()})["s"].([]any) {
			st := s.(map[string]any)
			if sid, ok := st["Sid"].(string); ok {
				bySid[sid] = st
			} else if strings.Contains(toJSON(st["Action"]), `"s3:`) {
				bucket = append(bucket, toJSON(st["Resource"]))
				if list, ok := st["Action"].([]any); ok {
					bucketActions = append(bucketActions, list...)
				} else {
					bucketActions = append(bucketActions, st["Action"])
				}
			} else {
				reads = append(reads, joined(st["Resource"]))
			}
		}
		for _, r := range bucket {
			require.Regexp(t, `^(\[?\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":s3:::bundles(/\*)?"\]\]\},?)+\]?$`, r, "the bundle bucket and its objects only")
		}
		require.Subset(t, bucketActions, []any{"s3:PutObject", "s3:DeleteObject*"}, "bundles are written and deleted")
		require.NotContains(t, toJSON(bucketActions), "s3:PutBucket", "never the bucket's own settings")
		require.Equal(t, tenantFunctionsArnText, joined(bySid["ManageTenantFunctions"]["Resource"]))
		require.NotContains(t, toJSON(bySid["ManageTenantFunctions"]["Action"]), "lambda:InvokeFunction")
		require.Subset(t, bySid["ManageTenantFunctions"]["Action"], []any{"lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency", "lambda:GetFunctionConcurrency"},
			"pause sets a function's reserved concurrency to 0 and restore gives it back")
		require.Subset(t, bySid["ManageTenantFunctions"]["Action"], []any{"lambda:UpdateFunctionCode", "lambda:UpdateFunctionUrlConfig"},
			"the reconciler rolls a new image out and repairs Function URLs")
		require.Equal(t, "arn:{Ref:AWS::Partition}:logs:{Ref:AWS::Region}:{Ref:AWS::AccountId}:log-group:/aws/lambda/postgrest-*", joined(bySid["ManageTenantFunctionLogGroups"]["Resource"]),
			"log groups of tenant functions only")
		require.Equal(t, "arn:{Ref:AWS::Partition}:cloudwatch:{Ref:AWS::Region}:{Ref:AWS::AccountId}:alarm:supabase-tenant-*", joined(bySid["ManageTenantAlarms"]["Resource"]),
			"the per-project alarms only")
		require.Equal(t, []any{"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource"}, bySid["ManageTenantAlarms"]["Action"])
		require.Equal(t, []any{"cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData"}, bySid["ReadAlarmsAndMetrics"]["Action"], "read-only actions are the only ones on *")
		require.ElementsMatch(t, []any{"logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:TagResource", "logs:TagLogGroup"},
			bySid["ManageTenantFunctionLogGroups"]["Action"])
		require.Equal(t, "arn:aws:iam::111111111111:role/tenant-fn", bySid["PassTenantLambdaRole"]["Resource"])
		require.JSONEq(t, `{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}`, toJSON(bySid["PassTenantLambdaRole"]["Condition"]))
		require.Contains(t, toJSON(bySid["ReadFunctionImages"]["Resource"]), ":repository/assets")
		require.Contains(t, toJSON(bySid["ReadFunctionImages"]["Resource"]), ":repository/edge-assets")
		require.Equal(t, []any{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}, bySid["ReadFunctionImages"]["Action"])
		require.Equal(t, "arn:{Ref:AWS::Partition}:lambda:{Ref:AWS::Region}:{Ref:AWS::AccountId}:function:functions-*", joined(bySid["ManageEdgeFunctions"]["Resource"]),
			"projects' functions Lambdas only")
		require.NotContains(t, toJSON(bySid["ManageEdgeFunctions"]["Action"]), "lambda:InvokeFunction")
		require.Equal(t, "arn:aws:iam::111111111111:role/edge-fn", bySid["PassEdgeFunctionsRole"]["Resource"], "passes the functions role only")
		require.JSONEq(t, `{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}`, toJSON(bySid["PassEdgeFunctionsRole"]["Condition"]))
		require.Equal(t, "*", bySid["DescribeTenantFunctionNetwork"]["Resource"])
		require.ElementsMatch(t, []string{"{Ref:" + workerSecret + "}", secretArn("tm-login")}, reads,
			"reads the worker's master secret and its own login, nothing else")
	})
}
