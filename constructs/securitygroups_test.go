package platform

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Plain-HTTP mode with an IPv6 administrator range: the ALBs open port 80
// only, IPv6 CIDRs become IPv6 rules, and every peer rule comes with the
// matching egress on its source (each group starts with none).
func TestSecurityGroups(t *testing.T) {
	stack := newStack(t)
	NewSecurityGroups(stack, "SecurityGroups", &SecurityGroupsProps{
		Vpc: importedVpc(stack), AdminCidrs: []string{"198.51.100.0/24", "2001:db8::/32"}, TLS: false,
	})
	x := synth(t, stack)
	group := func(t *testing.T, purpose string) string {
		return x.only(t, "AWS::EC2::SecurityGroup", map[string]any{"GroupDescription": "Supabase platform: " + purpose})
	}

	t.Run("thirteen groups in the VPC, none with open egress", func(t *testing.T) {
		x.count(t, "AWS::EC2::SecurityGroup", 13)
		x.allHave(t, "AWS::EC2::SecurityGroup", map[string]any{"VpcId": testVpcID})
		x.countWith(t, "AWS::EC2::SecurityGroup", map[string]any{
			"SecurityGroupEgress": arrayWith(like(map[string]any{"IpProtocol": "-1"})),
		}, 0)
	})
	t.Run("administrators reach Studio and the manager on 80 only, IPv6 as IPv6", func(t *testing.T) {
		for _, purpose := range []string{"Studio load balancer", "tenant-manager load balancer"} {
			ingress := props(x.resource(t, group(t, purpose)))["SecurityGroupIngress"]
			require.JSONEq(t, toJSON([]any{
				map[string]any{"CidrIp": "198.51.100.0/24", "Description": "administrators", "FromPort": 80, "IpProtocol": "tcp", "ToPort": 80},
				map[string]any{"CidrIpv6": "2001:db8::/32", "Description": "administrators", "FromPort": 80, "IpProtocol": "tcp", "ToPort": 80},
			}), toJSON(ingress), purpose)
		}
		x.countWith(t, "AWS::EC2::SecurityGroup", map[string]any{
			"SecurityGroupIngress": arrayWith(like(map[string]any{"FromPort": 443})),
		}, 0)
	})
	t.Run("the public API is open to the internet on 80, v4 and v6", func(t *testing.T) {
		kongAlb := props(x.resource(t, group(t, "Kong load balancer")))
		require.JSONEq(t, toJSON([]any{
			map[string]any{"CidrIp": "0.0.0.0/0", "Description": "public API", "FromPort": 80, "IpProtocol": "tcp", "ToPort": 80},
			map[string]any{"CidrIpv6": "::/0", "Description": "public API", "FromPort": 80, "IpProtocol": "tcp", "ToPort": 80},
		}), toJSON(kongAlb["SecurityGroupIngress"]))
		require.Contains(t, suppressed(x.resource(t, group(t, "Kong load balancer"))), "AwsSolutions-EC23")
	})
	t.Run("a peer rule opens egress on its source", func(t *testing.T) {
		redis, kong := group(t, "Redis cache"), group(t, "Kong gateway tasks")
		x.has(t, "AWS::EC2::SecurityGroupIngress", map[string]any{
			"GroupId": getAtt(redis, "GroupId"), "SourceSecurityGroupId": getAtt(kong, "GroupId"),
			"FromPort": PortRedis, "ToPort": PortRedis, "IpProtocol": "tcp",
		})
		x.has(t, "AWS::EC2::SecurityGroupEgress", map[string]any{
			"GroupId": getAtt(kong, "GroupId"), "DestinationSecurityGroupId": getAtt(redis, "GroupId"),
			"FromPort": PortRedis, "ToPort": PortRedis, "IpProtocol": "tcp",
		})
		// The databases call nobody: they have no egress rule at all.
		x.countWith(t, "AWS::EC2::SecurityGroupEgress", map[string]any{"GroupId": getAtt(redis, "GroupId")}, 0)
	})
}

func TestIsIPv6(t *testing.T) {
	require.True(t, isIPv6("2001:db8::/32"))
	require.True(t, isIPv6("::/0"))
	require.False(t, isIPv6("10.0.0.0/8"))
}
