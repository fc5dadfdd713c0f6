package platform

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

func newLoadBalancersStack(t *testing.T, domain *config.Domain) (awscdk.Stack, *LoadBalancers, *tmpl) {
	stack := newStack(t)
	vpc := importedVpc(stack)
	sgs := NewSecurityGroups(stack, "SecurityGroups", &SecurityGroupsProps{Vpc: vpc, AdminCidrs: []string{"198.51.100.0/24"}, TLS: domain != nil})
	auth := NewStudioAuth(stack, "StudioAuth", &StudioAuthProps{Cognito: domain != nil, StudioHost: "studio.example.com", DomainPrefix: "test"})
	lbs := NewLoadBalancers(stack, "LoadBalancers", &LoadBalancersProps{Vpc: vpc, SecurityGroups: sgs, Domain: domain, StudioAuth: auth, LogRetentionDays: 90, KongIdleSeconds: 170})
	for name, url := range map[string]*string{"KongUrl": lbs.KongURL, "StudioUrl": lbs.StudioURL, "ManagerUrl": lbs.ManagerURL} {
		awscdk.NewCfnOutput(stack, jsii.String(name), &awscdk.CfnOutputProps{Value: url})
	}
	return stack, lbs, synth(t, stack)
}

func TestLoadBalancersWithoutDomain(t *testing.T) {
	stack, lbs, x := newLoadBalancersStack(t, nil)
	listener := func(t *testing.T, alb awscdk.Resource) string {
		return x.only(t, "AWS::ElasticLoadBalancingV2::Listener", map[string]any{"LoadBalancerArn": ref(logicalID(stack, alb))})
	}

	t.Run("three internet-facing ALBs in the public subnets, invalid headers dropped, logs to the bucket", func(t *testing.T) {
		x.count(t, "AWS::ElasticLoadBalancingV2::LoadBalancer", 3)
		x.allHave(t, "AWS::ElasticLoadBalancingV2::LoadBalancer", map[string]any{
			"Scheme": "internet-facing", "Subnets": toAnySlice(publicSubnetIDs),
			"LoadBalancerAttributes": arrayWith(
				map[string]any{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
				map[string]any{"Key": "access_logs.s3.enabled", "Value": "true"},
				map[string]any{"Key": "access_logs.s3.bucket", "Value": ref(logicalID(stack, lbs.LogBucket))},
			),
		})
		// The manager's connections outlast a provisioning request, Kong's
		// the gateway's wait for an edge function; Studio keeps the
		// default minute.
		for alb, idle := range map[string]string{"KongAlb": "170", "StudioAlb": "60", "ManagerAlb": "660"} {
			x.has(t, "AWS::ElasticLoadBalancingV2::LoadBalancer", map[string]any{
				"SecurityGroups":         []any{getAtt(logicalID(stack, stackSG(stack, alb)), "GroupId")},
				"LoadBalancerAttributes": arrayWith(map[string]any{"Key": "idle_timeout.timeout_seconds", "Value": idle}),
			})
		}
		x.has(t, "AWS::ElasticLoadBalancingV2::LoadBalancer", map[string]any{
			"SecurityGroups":         []any{getAtt(logicalID(stack, stackSG(stack, "StudioAlb")), "GroupId")},
			"LoadBalancerAttributes": arrayWith(map[string]any{"Key": "access_logs.s3.prefix", "Value": "StudioAlb"}),
		})
	})
	t.Run("access-log bucket: private, TLS only, expiring, retained", func(t *testing.T) {
		x.hasResource(t, "AWS::S3::Bucket", map[string]any{"DeletionPolicy": "Retain", "Properties": like(map[string]any{
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
				map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
			}},
			"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
			"OwnershipControls":              map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}},
			"LifecycleConfiguration":         map[string]any{"Rules": []any{like(map[string]any{"ExpirationInDays": 90, "Status": "Enabled"})}},
		})})
		x.has(t, "AWS::S3::BucketPolicy", map[string]any{"PolicyDocument": like(map[string]any{"Statement": arrayWith(like(map[string]any{
			"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		}))})})
	})
	t.Run("plain HTTP listeners only, and none opens its port to the world", func(t *testing.T) {
		x.count(t, "AWS::ElasticLoadBalancingV2::Listener", 3)
		x.allHave(t, "AWS::ElasticLoadBalancingV2::Listener", map[string]any{"Port": 80, "Protocol": "HTTP"})
		studioAlb := props(x.resource(t, logicalID(stack, stackSG(stack, "StudioAlb"))))
		require.NotContains(t, toJSON(studioAlb["SecurityGroupIngress"]), "0.0.0.0/0")
	})
	t.Run("target groups and their health checks", func(t *testing.T) {
		for _, tg := range []struct {
			port int
			path string
		}{{PortKongProxy, "/health"}, {PortStudio, StudioHealthPath}, {PortService, "/health"}} {
			x.has(t, "AWS::ElasticLoadBalancingV2::TargetGroup", map[string]any{
				"Port": tg.port, "Protocol": "HTTP", "TargetType": "ip", "VpcId": testVpcID, "HealthCheckPath": tg.path,
				"HealthCheckIntervalSeconds": 30, "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 2, "UnhealthyThresholdCount": 3,
				"TargetGroupAttributes": arrayWith(map[string]any{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}),
			})
		}
	})
	t.Run("Kong and Studio forward everything; Studio without Cognito in Basic mode", func(t *testing.T) {
		x.has(t, "AWS::ElasticLoadBalancingV2::Listener", map[string]any{
			"LoadBalancerArn": ref(logicalID(stack, lbs.Studio)),
			"DefaultActions":  []any{map[string]any{"Type": "forward", "TargetGroupArn": ref(logicalID(stack, lbs.StudioTargets))}},
		})
		x.has(t, "AWS::ElasticLoadBalancingV2::Listener", map[string]any{
			"LoadBalancerArn": ref(logicalID(stack, lbs.Kong)),
			"DefaultActions":  []any{map[string]any{"Type": "forward", "TargetGroupArn": ref(logicalID(stack, lbs.KongTargets))}},
		})
	})
	t.Run("manager: management paths forwarded, internal configuration and the rest 404", func(t *testing.T) {
		manager := listener(t, lbs.Manager)
		notFound := map[string]any{"Type": "fixed-response", "FixedResponseConfig": map[string]any{
			"StatusCode": "404", "ContentType": "application/json", "MessageBody": `{"error":"not found","code":"not_found"}`,
		}}
		x.has(t, "AWS::ElasticLoadBalancingV2::Listener", map[string]any{"LoadBalancerArn": ref(logicalID(stack, lbs.Manager)), "DefaultActions": []any{notFound}})
		x.count(t, "AWS::ElasticLoadBalancingV2::ListenerRule", 2)
		x.has(t, "AWS::ElasticLoadBalancingV2::ListenerRule", map[string]any{
			"ListenerArn": ref(manager), "Priority": 10, "Actions": []any{notFound},
			"Conditions": []any{map[string]any{"Field": "path-pattern", "PathPatternConfig": map[string]any{"Values": []any{"/project/*/config", "/project/*/postgrest-config"}}}},
		})
		x.has(t, "AWS::ElasticLoadBalancingV2::ListenerRule", map[string]any{
			"ListenerArn": ref(manager), "Priority": 20,
			"Actions":    []any{map[string]any{"Type": "forward", "TargetGroupArn": ref(logicalID(stack, lbs.ManagerTargets))}},
			"Conditions": []any{map[string]any{"Field": "path-pattern", "PathPatternConfig": map[string]any{"Values": []any{"/project", "/project/*", "/projects", "/health"}}}},
		})
	})
	t.Run("URLs are the ALBs' DNS names over HTTP", func(t *testing.T) {
		url := capture()
		x.hasOutput(t, "KongUrl", map[string]any{"Value": url})
		require.Equal(t, "http://{GetAtt:"+logicalID(stack, lbs.Kong)+".DNSName}", joined(toMap(t, url.AsObject())))
	})
}

func TestLoadBalancersWithDomain(t *testing.T) {
	stack, lbs, x := newLoadBalancersStack(t, &config.Domain{Name: "sb.example.com", HostedZoneID: "Z0123456789ABC", HostedZoneName: "example.com"})

	t.Run("one certificate for the domain and its subdomains, validated in the zone", func(t *testing.T) {
		x.has(t, "AWS::CertificateManager::Certificate", map[string]any{
			"DomainName": "sb.example.com", "SubjectAlternativeNames": []any{"*.sb.example.com"}, "ValidationMethod": "DNS",
			"DomainValidationOptions": arrayWith(like(map[string]any{"HostedZoneId": "Z0123456789ABC"})),
		})
	})
	t.Run("HTTPS with TLS 1.2+, HTTP redirected permanently", func(t *testing.T) {
		x.countWith(t, "AWS::ElasticLoadBalancingV2::Listener", map[string]any{
			"Port": 443, "Protocol": "HTTPS", "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
			"Certificates": []any{map[string]any{"CertificateArn": ref(x.only(t, "AWS::CertificateManager::Certificate", map[string]any{}))}},
		}, 3)
		x.countWith(t, "AWS::ElasticLoadBalancingV2::Listener", map[string]any{
			"Port": 80, "Protocol": "HTTP", "DefaultActions": []any{map[string]any{"Type": "redirect", "RedirectConfig": map[string]any{
				"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301",
			}}},
		}, 3)
		x.count(t, "AWS::ElasticLoadBalancingV2::Listener", 6)
	})
	t.Run("Studio signs operators in with Cognito before forwarding", func(t *testing.T) {
		x.has(t, "AWS::ElasticLoadBalancingV2::Listener", map[string]any{
			"LoadBalancerArn": ref(logicalID(stack, lbs.Studio)), "Port": 443,
			"DefaultActions": []any{
				like(map[string]any{"Type": "authenticate-cognito", "Order": 1, "AuthenticateCognitoConfig": like(map[string]any{
					"Scope": "openid email", "SessionTimeout": "43200",
				})}),
				map[string]any{"Type": "forward", "Order": 2, "TargetGroupArn": ref(logicalID(stack, lbs.StudioTargets))},
			},
		})
		x.countWith(t, "AWS::ElasticLoadBalancingV2::Listener", map[string]any{
			"DefaultActions": arrayWith(like(map[string]any{"Type": "authenticate-cognito"})),
		}, 1)
	})
	t.Run("alias records for api, *, studio and manager", func(t *testing.T) {
		for host, alb := range map[string]awscdk.Resource{
			"api.sb.example.com.": lbs.Kong, "*.sb.example.com.": lbs.Kong, "studio.sb.example.com.": lbs.Studio, "manager.sb.example.com.": lbs.Manager,
		} {
			x.has(t, "AWS::Route53::RecordSet", map[string]any{
				"Name": host, "Type": "A", "HostedZoneId": "Z0123456789ABC",
				"AliasTarget": like(map[string]any{"DNSName": like(map[string]any{})}),
			})
			_ = alb
		}
		x.count(t, "AWS::Route53::RecordSet", 4)
		require.Equal(t, "https://api.sb.example.com", *lbs.KongURL)
		x.hasOutput(t, "StudioUrl", map[string]any{"Value": "https://studio.sb.example.com"})
		x.hasOutput(t, "ManagerUrl", map[string]any{"Value": "https://manager.sb.example.com"})
	})
}

// stackSG is one of the SecurityGroups construct's groups, by its id.
func stackSG(stack awscdk.Stack, name string) awscdk.Resource {
	return stack.Node().FindChild(jsii.String("SecurityGroups")).Node().FindChild(jsii.String(name)).(awscdk.Resource)
}
