package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

// InternalConfigPaths answer 404 at the manager ALB: only callers inside the
// VPC (the gateway, tenant functions) may reach them, and they prove their
// identity there too (docs/architecture.md, "Config API identity").
var InternalConfigPaths = []string{"/project/*/config", "/project/*/postgrest-config"}

// ManagementPaths are what the manager ALB forwards.
var ManagementPaths = []string{"/project", "/project/*", "/projects", "/health"}

// ManagerIdleTimeoutSeconds outlasts the tenant-manager's HTTP write
// timeout (10 minutes).
const ManagerIdleTimeoutSeconds = 660

// StudioHealthPath is answered by Studio's authenticating proxy without
// credentials: 200 while Studio itself answers.
const StudioHealthPath = "/_auth-proxy/health"

type LoadBalancersProps struct {
	Vpc            awsec2.IVpc
	SecurityGroups *SecurityGroups
	Domain         *config.Domain // nil: no-domain mode
	// StudioAuth signs operators in before the Studio ALB forwards to Studio.
	StudioAuth *StudioAuth
	// LogRetentionDays expires ALB access logs.
	LogRetentionDays int
	// KongIdleSeconds keeps a client's connection open while the gateway
	// waits for the slowest answer it allows (an edge function's).
	KongIdleSeconds int
}

// LoadBalancers are the three internet-facing ALBs (Kong, Studio,
// tenant-manager): invalid header fields dropped, access logs to an
// encrypted TLS-only bucket; HTTPS with a TLS 1.2+ policy and HTTP→HTTPS
// redirects in domain mode, plain HTTP in no-domain mode.
//
// They are built before the services: each service registers with its
// target group (KongTargets, StudioTargets, ManagerTargets), and services
// that need a URL (the functions' SUPABASE_URL) get it at construction.
type LoadBalancers struct {
	constructs.Construct
	Kong, Studio, Manager elb.ApplicationLoadBalancer
	// Target groups, each with its health check, for the services.
	KongTargets, StudioTargets, ManagerTargets elb.ApplicationTargetGroup
	LogBucket                                  awss3.Bucket
	// URLs of the three endpoints.
	KongURL, StudioURL, ManagerURL *string
}

func NewLoadBalancers(scope constructs.Construct, id string, props *LoadBalancersProps) *LoadBalancers {
	this := constructs.NewConstruct(scope, jsii.String(id))
	lb := &LoadBalancers{Construct: this}

	lb.LogBucket = awss3.NewBucket(this, jsii.String("AccessLogs"), &awss3.BucketProps{
		// ALB access logs support only SSE-S3.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(false),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(props.LogRetentionDays)),
		}},
	})
	suppress(lb.LogBucket, suppression{"S1", "This bucket is the destination of the ALB access logs; logging its own access would need a second bucket whose logs go nowhere."})

	var cert awscertificatemanager.ICertificate
	var zone awsroute53.IHostedZone
	if d := props.Domain; d != nil {
		zone = awsroute53.HostedZone_FromHostedZoneAttributes(this, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
			HostedZoneId: jsii.String(d.HostedZoneID),
			ZoneName:     jsii.String(d.HostedZoneName),
		})
		if d.CertificateArn != "" {
			cert = awscertificatemanager.Certificate_FromCertificateArn(this, jsii.String("Certificate"), jsii.String(d.CertificateArn))
		} else {
			cert = awscertificatemanager.NewCertificate(this, jsii.String("Certificate"), &awscertificatemanager.CertificateProps{
				DomainName:              jsii.String(d.Name),
				SubjectAlternativeNames: jsii.Strings("*." + d.Name),
				Validation:              awscertificatemanager.CertificateValidation_FromDns(zone),
			})
		}
	}

	alb := func(name string, sg awsec2.ISecurityGroup, idleSeconds int) elb.ApplicationLoadBalancer {
		a := elb.NewApplicationLoadBalancer(this, jsii.String(name), &elb.ApplicationLoadBalancerProps{
			Vpc:                     props.Vpc,
			InternetFacing:          jsii.Bool(true),
			VpcSubnets:              PublicSubnets(),
			SecurityGroup:           sg,
			DropInvalidHeaderFields: jsii.Bool(true),
			IdleTimeout:             awscdk.Duration_Seconds(jsii.Number(idleSeconds)),
		})
		a.LogAccessLogs(lb.LogBucket, jsii.String(name))
		return a
	}
	// listener opens the ALB's port(s): HTTPS plus a redirect from HTTP with
	// a domain, HTTP alone without. The security groups decide who may
	// connect, so no listener opens its port to the world by itself.
	listener := func(a elb.ApplicationLoadBalancer, name string, defaultAction elb.ListenerAction) elb.ApplicationListener {
		if cert == nil {
			return a.AddListener(jsii.String(name+"Http"), &elb.BaseApplicationListenerProps{
				Port: jsii.Number(PortHTTP), Protocol: elb.ApplicationProtocol_HTTP, Open: jsii.Bool(false), DefaultAction: defaultAction,
			})
		}
		a.AddListener(jsii.String(name+"Redirect"), &elb.BaseApplicationListenerProps{
			Port: jsii.Number(PortHTTP), Protocol: elb.ApplicationProtocol_HTTP, Open: jsii.Bool(false),
			DefaultAction: elb.ListenerAction_Redirect(&elb.RedirectOptions{Protocol: jsii.String("HTTPS"), Port: jsii.String("443"), Permanent: jsii.Bool(true)}),
		})
		return a.AddListener(jsii.String(name+"Https"), &elb.BaseApplicationListenerProps{
			Port: jsii.Number(PortHTTPS), Protocol: elb.ApplicationProtocol_HTTPS, Open: jsii.Bool(false),
			Certificates:  &[]elb.IListenerCertificate{elb.ListenerCertificate_FromCertificateManager(cert)},
			SslPolicy:     elb.SslPolicy_RECOMMENDED_TLS,
			DefaultAction: defaultAction,
		})
	}
	targets := func(name string, port int, healthPath string) elb.ApplicationTargetGroup {
		return elb.NewApplicationTargetGroup(this, jsii.String(name+"Targets"), &elb.ApplicationTargetGroupProps{
			Vpc:        props.Vpc,
			Port:       jsii.Number(port),
			Protocol:   elb.ApplicationProtocol_HTTP,
			TargetType: elb.TargetType_IP,
			HealthCheck: &elb.HealthCheck{
				Path: jsii.String(healthPath), Interval: awscdk.Duration_Seconds(jsii.Number(30)),
				Timeout: awscdk.Duration_Seconds(jsii.Number(5)), HealthyThresholdCount: jsii.Number(2), UnhealthyThresholdCount: jsii.Number(3),
			},
			DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(30)),
		})
	}

	lb.Kong = alb("KongAlb", props.SecurityGroups.KongAlb, max(props.KongIdleSeconds, 60))
	lb.KongTargets = targets("Kong", PortKongProxy, "/health")
	listener(lb.Kong, "Kong", elb.ListenerAction_Forward(&[]elb.IApplicationTargetGroup{lb.KongTargets}, nil))

	lb.Studio = alb("StudioAlb", props.SecurityGroups.StudioAlb, 60)
	lb.StudioTargets = targets("Studio", PortStudio, StudioHealthPath)
	listener(lb.Studio, "Studio", props.StudioAuth.Authenticate(elb.ListenerAction_Forward(&[]elb.IApplicationTargetGroup{lb.StudioTargets}, nil)))

	// A provisioning request or a JWT rotation answers only when done (up
	// to the tenant-manager's 10-minute write timeout): the connection must
	// outlast it, or the operator gets a 504 and never learns the outcome.
	lb.Manager = alb("ManagerAlb", props.SecurityGroups.ManagerAlb, ManagerIdleTimeoutSeconds)
	notFound := elb.ListenerAction_FixedResponse(jsii.Number(404), &elb.FixedResponseOptions{
		ContentType: jsii.String("application/json"), MessageBody: jsii.String(`{"error":"not found","code":"not_found"}`),
	})
	lb.ManagerTargets = targets("Manager", PortService, "/health")
	manager := listener(lb.Manager, "Manager", notFound)
	manager.AddAction(jsii.String("InternalConfig404"), &elb.AddApplicationActionProps{
		Priority:   jsii.Number(10),
		Conditions: &[]elb.ListenerCondition{elb.ListenerCondition_PathPatterns(jsii.Strings(InternalConfigPaths...))},
		Action:     notFound,
	})
	manager.AddAction(jsii.String("ManagementApi"), &elb.AddApplicationActionProps{
		Priority:   jsii.Number(20),
		Conditions: &[]elb.ListenerCondition{elb.ListenerCondition_PathPatterns(jsii.Strings(ManagementPaths...))},
		Action:     elb.ListenerAction_Forward(&[]elb.IApplicationTargetGroup{lb.ManagerTargets}, nil),
	})

	if d := props.Domain; d != nil {
		record := func(name, host string, a elb.ApplicationLoadBalancer) {
			awsroute53.NewARecord(this, jsii.String(name), &awsroute53.ARecordProps{
				Zone: zone, RecordName: jsii.String(host),
				Target: awsroute53.RecordTarget_FromAlias(awsroute53targets.NewLoadBalancerTarget(a, nil)),
			})
		}
		record("ApiRecord", "api."+d.Name, lb.Kong)
		record("WildcardRecord", "*."+d.Name, lb.Kong)
		record("StudioRecord", "studio."+d.Name, lb.Studio)
		record("ManagerRecord", "manager."+d.Name, lb.Manager)
		lb.KongURL = jsii.String("https://api." + d.Name)
		lb.StudioURL = jsii.String("https://studio." + d.Name)
		lb.ManagerURL = jsii.String("https://manager." + d.Name)
	} else {
		url := func(a elb.ApplicationLoadBalancer) *string {
			return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("http://"), a.LoadBalancerDnsName()})
		}
		lb.KongURL, lb.StudioURL, lb.ManagerURL = url(lb.Kong), url(lb.Studio), url(lb.Manager)
	}
	return lb
}
