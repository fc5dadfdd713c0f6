package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

func TestCache(t *testing.T) {
	stack := newStack(t)
	vpc := importedVpc(stack)
	c := NewCache(stack, "Cache", &CacheProps{
		Vpc:           vpc,
		Config:        config.Cache{NodeType: "cache.t4g.small", EngineVersion: "7.1", Replicas: 2, TransitEncryption: true},
		SecurityGroup: importedSG(stack, "Sg", "sg-00000000000000006"),
	})
	single := NewCache(stack, "Single", &CacheProps{
		Vpc:           vpc,
		Config:        config.Cache{NodeType: "cache.t3.micro", EngineVersion: "7.1", Replicas: 0, TransitEncryption: true},
		SecurityGroup: importedSG(stack, "Sg2", "sg-00000000000000005"),
	})
	ep := c.Endpoint()
	awscdk.NewCfnOutput(stack, jsii.String("Host"), &awscdk.CfnOutputProps{Value: ep.Host})
	awscdk.NewCfnOutput(stack, jsii.String("Port"), &awscdk.CfnOutputProps{Value: ep.Port})
	x := synth(t, stack)

	key, subnets, token := capture(), capture(), capture()
	x.has(t, "AWS::ElastiCache::ReplicationGroup", map[string]any{
		"Engine": "redis", "EngineVersion": "7.1", "CacheNodeType": "cache.t4g.small",
		"NumCacheClusters": 3, "AutomaticFailoverEnabled": true, "MultiAZEnabled": true, "Port": PortRedis,
		"AtRestEncryptionEnabled": true, "TransitEncryptionEnabled": true, "KmsKeyId": key,
		"SecurityGroupIds": []any{"sg-00000000000000006"}, "CacheSubnetGroupName": subnets, "AuthToken": token,
	})
	rg := x.only(t, "AWS::ElastiCache::ReplicationGroup", map[string]any{"NumCacheClusters": 3})

	t.Run("encrypted with a rotated, retained key of its own", func(t *testing.T) {
		k := x.resource(t, refOf(t, key))
		require.Equal(t, "AWS::KMS::Key", k["Type"])
		require.Equal(t, true, props(k)["EnableKeyRotation"])
		require.Equal(t, "Retain", k["DeletionPolicy"])
	})
	t.Run("in the isolated subnets", func(t *testing.T) {
		sg := x.resource(t, refOf(t, subnets))
		require.Equal(t, toJSON(isolatedSubnetID), toJSON(props(sg)["SubnetIds"]))
	})
	t.Run("AUTH token is a dynamic reference to a generated secret under the same key", func(t *testing.T) {
		text := joined(toMap(t, token.AsObject()))
		require.Regexp(t, `^\{\{resolve:secretsmanager:\{Ref:[A-Za-z0-9]+\}:SecretString:::\}\}$`, text)
		secrets := x.resources("AWS::SecretsManager::Secret")
		found := false
		for id, s := range secrets {
			if text == "{{resolve:secretsmanager:{Ref:"+id+"}:SecretString:::}}" {
				found = true
				p := props(s)
				require.Equal(t, toJSON(getAtt(refOf(t, key), "Arn")), toJSON(p["KmsKeyId"]))
				require.JSONEq(t, `{"ExcludePunctuation":true,"PasswordLength":64}`, toJSON(p["GenerateSecretString"]))
			}
		}
		require.True(t, found, "the token names the cache's own secret")
	})
	t.Run("no replica: no failover, and the accepted finding says why", func(t *testing.T) {
		x.has(t, "AWS::ElastiCache::ReplicationGroup", map[string]any{
			"CacheNodeType": "cache.t3.micro", "NumCacheClusters": 1, "AutomaticFailoverEnabled": false, "MultiAZEnabled": false,
		})
		one := x.only(t, "AWS::ElastiCache::ReplicationGroup", map[string]any{"NumCacheClusters": 1})
		require.Contains(t, suppressed(x.resource(t, one)), "AwsSolutions-AEC4")
		require.NotContains(t, suppressed(x.resource(t, rg)), "AwsSolutions-AEC4")
		_ = single
	})
	t.Run("endpoint is the primary's", func(t *testing.T) {
		x.hasOutput(t, "Host", map[string]any{"Value": getAtt(rg, "PrimaryEndPoint.Address")})
		x.hasOutput(t, "Port", map[string]any{"Value": getAtt(rg, "PrimaryEndPoint.Port")})
		require.Equal(t, *c.AuthToken.SecretArn(), *ep.AuthToken.SecretArn())
	})
}
