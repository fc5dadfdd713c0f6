package platform

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Ports of the platform's components.
const (
	PortHTTP      = 80
	PortHTTPS     = 443
	PortKongProxy = 8000
	PortKongAdmin = 8001
	PortStudio    = 8000
	PortService   = 8080 // tenant-manager (management API), functions, postgres-meta
	// PortConfig is the tenant-manager's internal configuration API (the
	// gateway's /config, the tenant functions' /postgrest-config): a port of
	// its own, which no load balancer forwards to.
	PortConfig   = 8081
	PortPostgres = 5432
	PortRedis    = 6379
)

type SecurityGroupsProps struct {
	Vpc awsec2.IVpc
	// AdminCidrs may reach the Studio and tenant-manager ALBs.
	AdminCidrs []string
	// TLS is true in domain mode: ALBs listen on 443 and redirect 80.
	TLS bool
}

// SecurityGroups is the platform's ingress matrix (docs/architecture.md),
// and nothing else. Every group starts with no egress; egress is opened only
// where a component calls something: its peers of the matrix and AWS APIs
// over HTTPS.
type SecurityGroups struct {
	constructs.Construct
	KongAlb, StudioAlb, ManagerAlb awsec2.SecurityGroup
	Kong, Studio, TenantManager    awsec2.SecurityGroup
	PostgresMeta, Lambda, DbAdmin  awsec2.SecurityGroup
	PrimaryDb, WorkerDb, Redis     awsec2.SecurityGroup
	// EdgeFunctions holds tenants' own code: HTTPS out and the
	// configuration port, never a database.
	EdgeFunctions awsec2.SecurityGroup
}

func NewSecurityGroups(scope constructs.Construct, id string, props *SecurityGroupsProps) *SecurityGroups {
	this := constructs.NewConstruct(scope, jsii.String(id))
	group := func(name, purpose string) awsec2.SecurityGroup {
		return awsec2.NewSecurityGroup(this, jsii.String(name), &awsec2.SecurityGroupProps{
			Vpc:                  props.Vpc,
			Description:          jsii.String("Supabase platform: " + purpose),
			AllowAllOutbound:     jsii.Bool(false),
			AllowAllIpv6Outbound: jsii.Bool(false),
		})
	}
	sg := &SecurityGroups{
		Construct:     this,
		KongAlb:       group("KongAlb", "Kong load balancer"),
		StudioAlb:     group("StudioAlb", "Studio load balancer"),
		ManagerAlb:    group("ManagerAlb", "tenant-manager load balancer"),
		Kong:          group("Kong", "Kong gateway tasks"),
		Studio:        group("Studio", "Studio tasks"),
		TenantManager: group("TenantManager", "tenant-manager tasks"),
		PostgresMeta:  group("PostgresMeta", "postgres-meta tasks"),
		Lambda:        group("Lambda", "tenant PostgREST Lambda functions"),
		DbAdmin:       group("DbAdmin", "db-admin and secret rotation Lambda functions"),
		EdgeFunctions: group("EdgeFunctions", "tenant edge functions Lambda functions"),
		PrimaryDb:     group("PrimaryDb", "platform PostgreSQL (primary)"),
		WorkerDb:      group("WorkerDb", "tenant PostgreSQL (workers)"),
		Redis:         group("Redis", "Redis cache"),
	}

	listenerPorts := []int{PortHTTP}
	if props.TLS {
		listenerPorts = []int{PortHTTPS, PortHTTP}
	}
	for _, p := range listenerPorts {
		port := awsec2.Port_Tcp(jsii.Number(p))
		sg.KongAlb.AddIngressRule(awsec2.Peer_AnyIpv4(), port, jsii.String("public API"), nil)
		sg.KongAlb.AddIngressRule(awsec2.Peer_AnyIpv6(), port, jsii.String("public API"), nil)
		for _, cidr := range props.AdminCidrs {
			var peer awsec2.IPeer
			if isIPv6(cidr) {
				peer = awsec2.Peer_Ipv6(jsii.String(cidr))
			} else {
				peer = awsec2.Peer_Ipv4(jsii.String(cidr))
			}
			sg.StudioAlb.AddIngressRule(peer, port, jsii.String("administrators"), nil)
			sg.ManagerAlb.AddIngressRule(peer, port, jsii.String("administrators"), nil)
		}
	}
	suppress(sg.KongAlb, suppression{"EC23", "The Kong ALB is the platform's public API endpoint: clients on the internet call it, and Kong key-auth guards every route."})

	// allow opens target:port to each source, adding the matching egress on
	// the source (all groups deny egress by default).
	allow := func(target awsec2.SecurityGroup, port int, why string, sources ...awsec2.SecurityGroup) {
		for _, src := range sources {
			target.Connections().AllowFrom(src, awsec2.Port_Tcp(jsii.Number(port)), jsii.String(why))
		}
	}
	allow(sg.Kong, PortKongProxy, "Kong proxy", sg.KongAlb)
	allow(sg.Kong, PortKongAdmin, "Kong Admin API", sg.TenantManager)
	allow(sg.Studio, PortStudio, "Studio", sg.StudioAlb)
	allow(sg.TenantManager, PortService, "tenant-manager management API", sg.ManagerAlb, sg.Studio)
	allow(sg.TenantManager, PortConfig, "tenant-manager configuration API", sg.Kong, sg.Lambda, sg.EdgeFunctions)
	allow(sg.PostgresMeta, PortService, "postgres-meta", sg.Studio)
	allow(sg.PrimaryDb, PortPostgres, "platform database", sg.Kong, sg.TenantManager, sg.DbAdmin)
	allow(sg.WorkerDb, PortPostgres, "tenant databases", sg.Lambda, sg.TenantManager, sg.PostgresMeta, sg.DbAdmin)
	allow(sg.Redis, PortRedis, "Redis", sg.Kong, sg.TenantManager)

	// HTTPS egress for what calls AWS APIs (ECR, Lambda, STS, Secrets
	// Manager, CloudWatch, S3) or, for tenants' edge functions (which run
	// in the Lambda group), the internet.
	for _, g := range []awsec2.SecurityGroup{sg.Kong, sg.Studio, sg.TenantManager, sg.PostgresMeta, sg.Lambda, sg.EdgeFunctions, sg.DbAdmin} {
		g.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(PortHTTPS)), jsii.String("HTTPS to AWS APIs"), nil)
	}
	return sg
}

func isIPv6(cidr string) bool { return strings.Contains(cidr, ":") }
