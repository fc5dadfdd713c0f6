package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticache"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

type CacheProps struct {
	Vpc           awsec2.IVpc
	Config        config.Cache
	SecurityGroup awsec2.ISecurityGroup
}

// Cache is the Redis replication group (cluster mode off) in which Kong
// caches JWT secrets and function URLs. It is encrypted at rest and in
// transit and requires an AUTH token held in Secrets Manager.
type Cache struct {
	constructs.Construct
	ReplicationGroup awselasticache.CfnReplicationGroup
	AuthToken        awssecretsmanager.Secret
	Key              awskms.Key
}

func NewCache(scope constructs.Construct, id string, props *CacheProps) *Cache {
	this := constructs.NewConstruct(scope, jsii.String(id))
	cfg := props.Config

	key := newKey(this, "Redis at-rest encryption and AUTH token")
	token := awssecretsmanager.NewSecret(this, jsii.String("AuthToken"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("Supabase platform: Redis AUTH token"),
		EncryptionKey: key,
		// ElastiCache accepts 16..128 printable characters without @ " /.
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
	})
	suppress(token, suppression{"SMG4", "An ElastiCache AUTH token cannot be rotated by a Secrets Manager rotation Lambda alone: it needs ModifyReplicationGroup with AuthTokenUpdateStrategy ROTATE and a rolling restart of Kong and the tenant-manager, which is an operator runbook."})

	subnets := props.Vpc.SelectSubnets(IsolatedSubnets())
	subnetGroup := awselasticache.NewCfnSubnetGroup(this, jsii.String("Subnets"), &awselasticache.CfnSubnetGroupProps{
		Description: jsii.String("Supabase platform: Redis in isolated subnets"),
		SubnetIds:   toAny(subnets.SubnetIds),
	})
	failover := cfg.Replicas > 0
	group := awselasticache.NewCfnReplicationGroup(this, jsii.String("ReplicationGroup"), &awselasticache.CfnReplicationGroupProps{
		ReplicationGroupDescription: jsii.String("Supabase platform cache"),
		Engine:                      jsii.String("redis"),
		EngineVersion:               jsii.String(cfg.EngineVersion),
		CacheNodeType:               jsii.String(cfg.NodeType),
		NumCacheClusters:            jsii.Number(1 + cfg.Replicas),
		AutomaticFailoverEnabled:    jsii.Bool(failover),
		MultiAzEnabled:              jsii.Bool(failover),
		Port:                        jsii.Number(PortRedis),
		CacheSubnetGroupName:        subnetGroup.Ref(),
		SecurityGroupIds:            jsii.Strings(*props.SecurityGroup.SecurityGroupId()),
		AtRestEncryptionEnabled:     jsii.Bool(true),
		KmsKeyId:                    key.KeyId(),
		TransitEncryptionEnabled:    jsii.Bool(cfg.TransitEncryption),
		// A dynamic reference: CloudFormation resolves it at deploy time, so
		// the token never appears in the template.
		AuthToken:               token.SecretValue().UnsafeUnwrap(),
		SnapshotRetentionLimit:  jsii.Number(1),
		AutoMinorVersionUpgrade: jsii.Bool(true),
	})
	var s []suppression
	s = append(s, suppression{"AEC5", "Kong and the tenant-manager use Redis's default port 6379; only their security groups reach it, so a different port adds no protection."})
	if !failover {
		s = append(s, suppression{"AEC4", "cache.replicas is 0 in config.json (a cost choice): with no replica there is nothing to fail over to. Set replicas >= 1 for Multi-AZ."})
	}
	suppress(group, s...)
	awscdk.Tags_Of(group).Add(jsii.String("supabase:role"), jsii.String("cache"), nil)
	return &Cache{Construct: this, ReplicationGroup: group, AuthToken: token, Key: key}
}

// toAny adapts a string list to the *[]interface{} some L1 props take.
func toAny(in *[]*string) *[]interface{} {
	out := make([]interface{}, 0, len(*in))
	for _, s := range *in {
		out = append(out, s)
	}
	return &out
}

// RedisEndpoint is how a service reaches the cache: TLS and the AUTH token.
type RedisEndpoint struct {
	Host, Port *string
	AuthToken  awssecretsmanager.ISecret
}

// Endpoint is the replication group's primary endpoint.
func (c *Cache) Endpoint() RedisEndpoint {
	return RedisEndpoint{
		Host:      c.ReplicationGroup.AttrPrimaryEndPointAddress(),
		Port:      c.ReplicationGroup.AttrPrimaryEndPointPort(),
		AuthToken: c.AuthToken,
	}
}
