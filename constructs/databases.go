package platform

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

// MasterUsername is the RDS master login of every instance. Like RDS's own
// master it has rds_superuser (CREATEDB, CREATEROLE), not SUPERUSER.
const MasterUsername = "supabase_admin"

// rdsLogExports are the PostgreSQL logs RDS publishes to CloudWatch Logs.
var rdsLogExports = []string{"postgresql", "upgrade"}

type DatabasesProps struct {
	Vpc awsec2.IVpc
	// NamePrefix prefixes the instance identifiers (lower-cased stack name).
	NamePrefix     string
	Config         config.Database
	SecurityGroups *SecurityGroups
	LogRetention   awslogs.RetentionDays
}

// Database is one RDS instance with its generated master secret.
type Database struct {
	ID            string
	Instance      awsrds.DatabaseInstance
	SecurityGroup awsec2.ISecurityGroup
}

// Databases holds the primary (platform databases kong and
// supabase_platform) and one worker instance per configured worker (tenant
// databases), all encrypted with one customer-managed key and forcing TLS.
type Databases struct {
	constructs.Construct
	Key     awskms.Key
	Primary Database
	Workers []Database
}

func NewDatabases(scope constructs.Construct, id string, props *DatabasesProps) *Databases {
	this := constructs.NewConstruct(scope, jsii.String(id))
	cfg := props.Config

	key := newKey(this, "RDS storage, snapshots and master secrets")
	engine := awsrds.DatabaseInstanceEngine_Postgres(&awsrds.PostgresInstanceEngineProps{
		Version: awsrds.PostgresEngineVersion_Of(jsii.String(cfg.EngineVersion), jsii.String(majorVersion(cfg.EngineVersion)), nil),
	})
	params := awsrds.NewParameterGroup(this, jsii.String("Parameters"), &awsrds.ParameterGroupProps{
		Engine:      engine,
		Description: jsii.String("Supabase platform: TLS required for every connection"),
		Parameters: &map[string]*string{
			"rds.force_ssl":       jsii.String("1"),
			"password_encryption": jsii.String("scram-sha-256"),
			// A tenant's query may spill at most 2 GiB to disk: temporary
			// files share the worker's storage with every tenant.
			"temp_file_limit": jsii.String("2097152"),
		},
	})

	d := &Databases{Construct: this, Key: key}
	build := func(name, role string, in config.Instance, sg awsec2.SecurityGroup) Database {
		identifier := fmt.Sprintf("%s-%s", props.NamePrefix, name)
		scope := constructs.NewConstruct(this, jsii.String(constructID(name)))
		// The log groups exist before the instance so that retention applies
		// without a log-retention Lambda.
		var logGroups []constructs.IDependable
		for _, l := range rdsLogExports {
			logGroups = append(logGroups, awslogs.NewLogGroup(scope, jsii.String("Log"+constructID(l)), &awslogs.LogGroupProps{
				LogGroupName:  jsii.String(fmt.Sprintf("/aws/rds/instance/%s/%s", identifier, l)),
				Retention:     props.LogRetention,
				RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
			}))
		}
		instProps := &awsrds.DatabaseInstanceProps{
			Engine:                    engine,
			InstanceIdentifier:        jsii.String(identifier),
			InstanceType:              awsec2.NewInstanceType(jsii.String(strings.TrimPrefix(in.InstanceClass, "db."))),
			Vpc:                       props.Vpc,
			VpcSubnets:                IsolatedSubnets(),
			SecurityGroups:            &[]awsec2.ISecurityGroup{sg},
			PubliclyAccessible:        jsii.Bool(false),
			Credentials:               awsrds.Credentials_FromGeneratedSecret(jsii.String(MasterUsername), &awsrds.CredentialsBaseOptions{EncryptionKey: key}),
			StorageEncrypted:          jsii.Bool(true),
			StorageEncryptionKey:      key,
			StorageType:               awsrds.StorageType_GP3,
			AllocatedStorage:          jsii.Number(in.AllocatedStorageGiB),
			MultiAz:                   jsii.Bool(in.MultiAz),
			ParameterGroup:            params,
			BackupRetention:           awscdk.Duration_Days(jsii.Number(in.BackupRetentionDays)),
			CopyTagsToSnapshot:        jsii.Bool(true),
			DeletionProtection:        jsii.Bool(in.DeletionProtection),
			RemovalPolicy:             removalPolicy(cfg.RemovalPolicy),
			CloudwatchLogsExports:     jsii.Strings(rdsLogExports...),
			AutoMinorVersionUpgrade:   jsii.Bool(true),
			EnablePerformanceInsights: jsii.Bool(false),
		}
		if in.MaxAllocatedStorageGiB > 0 {
			instProps.MaxAllocatedStorage = jsii.Number(in.MaxAllocatedStorageGiB)
		}
		inst := awsrds.NewDatabaseInstance(scope, jsii.String("Instance"), instProps)
		inst.Node().AddDependency(logGroups...)
		awscdk.Tags_Of(inst).Add(jsii.String("supabase:role"), jsii.String(role), nil)
		rotateSecret(scope, "Rotation", rotationProps{
			Secret:  inst.Secret(),
			Target:  sg,
			Vpc:     props.Vpc,
			Rotator: props.SecurityGroups.DbAdmin,
		})

		var s []suppression
		s = append(s,
			suppression{"RDS11", "PostgreSQL clients (Kong, PostgREST, postgres-meta) expect 5432; a non-default port adds no protection because only the platform's own security groups reach the instance."},
		)
		if !in.MultiAz {
			s = append(s, suppression{"RDS3", fmt.Sprintf("Multi-AZ is off for %s by config (database multiAz=false), a cost choice for small deployments; set multiAz to true for production.", name)})
		}
		if !in.DeletionProtection {
			s = append(s, suppression{"RDS10", fmt.Sprintf("Deletion protection is off for %s by config (deletionProtection=false), an explicit operator choice.", name)})
		}
		suppress(inst, s...)
		return Database{ID: name, Instance: inst, SecurityGroup: sg}
	}

	d.Primary = build("primary", "platform", cfg.Primary, props.SecurityGroups.PrimaryDb)
	for _, w := range cfg.Workers {
		d.Workers = append(d.Workers, build(w.ID, "worker", w.Instance, props.SecurityGroups.WorkerDb))
	}
	return d
}

func majorVersion(v string) string {
	major, _, _ := strings.Cut(v, ".")
	return major
}

func removalPolicy(s string) awscdk.RemovalPolicy {
	switch s {
	case "retain":
		return awscdk.RemovalPolicy_RETAIN
	case "destroy":
		return awscdk.RemovalPolicy_DESTROY
	default:
		return awscdk.RemovalPolicy_SNAPSHOT
	}
}

// constructID turns "supabase-worker-01" into "SupabaseWorker01".
func constructID(s string) string {
	var b strings.Builder
	upper := true
	for _, r := range s {
		if r == '-' || r == '_' {
			upper = true
			continue
		}
		if upper {
			b.WriteString(strings.ToUpper(string(r)))
			upper = false
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
