// Package stacks holds SupabaseStack, which composes the constructs of
// package platform into the whole platform (SPEC §5).
package stacks

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
	platform "github.com/supabase-on-aws/supabase-on-aws/constructs"
)

// StackID is the construct id of the stack, so the synthesized template is
// always cdk.out/SupabaseStack.template.json whatever stackName says.
const StackID = "SupabaseStack"

type SupabaseStackProps struct {
	Config config.Config
	// ServicesDir is the folder of the services' sibling modules, relative
	// to the working directory; "services" when empty.
	ServicesDir string
}

type SupabaseStack struct {
	awscdk.Stack
	Network        *platform.Network
	SecurityGroups *platform.SecurityGroups
	Databases      *platform.Databases
	Cache          *platform.Cache
	Bootstrap      *platform.PlatformBootstrap
}

// NewSupabaseStack builds the platform from a validated config.
func NewSupabaseStack(scope constructs.Construct, id string, props *SupabaseStackProps) *SupabaseStack {
	cfg := props.Config
	stackProps := &awscdk.StackProps{
		StackName:   jsii.String(cfg.StackName),
		Description: jsii.String("Supabase on AWS: multi-tenant Supabase platform (Kong gateway, tenant-manager, PostgREST Lambda per tenant)"),
	}
	if cfg.Env.Account != "" {
		stackProps.Env = &awscdk.Environment{Account: jsii.String(cfg.Env.Account), Region: jsii.String(cfg.Env.Region)}
	}
	stack := awscdk.NewStack(scope, jsii.String(id), stackProps)
	if cfg.Env.Account != "" {
		// Answer the AZ context query from config, so synth never calls AWS.
		key := fmt.Sprintf("availability-zones:account=%s:region=%s", cfg.Env.Account, cfg.Env.Region)
		stack.Node().SetContext(jsii.String(key), cfg.Network.AvailabilityZones)
	}
	for k, v := range cfg.Tags {
		awscdk.Tags_Of(stack).Add(jsii.String(k), jsii.String(v), nil)
	}
	if !cfg.HasDomain() {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("supabase:no-domain"), jsii.String(
			"No domain configured: the ALBs listen on plain HTTP and the project is taken from the X-Project-ID header. "+
				"Set \"domain\" in config.json for TLS and per-project host names before serving real traffic."))
	}
	logRetention := platform.Retention(cfg.Logs.RetentionDays)

	network := platform.NewNetwork(stack, "Network", &platform.NetworkProps{Config: cfg.Network, LogRetention: logRetention})
	sgs := platform.NewSecurityGroups(stack, "SecurityGroups", &platform.SecurityGroupsProps{
		Vpc:        network.Vpc,
		AdminCidrs: cfg.AdminCidrs,
		TLS:        cfg.HasDomain(),
	})
	dbs := platform.NewDatabases(stack, "Databases", &platform.DatabasesProps{
		Vpc:            network.Vpc,
		NamePrefix:     strings.ToLower(cfg.StackName),
		Config:         cfg.Database,
		SecurityGroups: sgs,
		LogRetention:   logRetention,
	})
	cache := platform.NewCache(stack, "Cache", &platform.CacheProps{
		Vpc:           network.Vpc,
		Config:        cfg.Cache,
		SecurityGroup: sgs.Redis,
	})
	servicesDir := props.ServicesDir
	if servicesDir == "" {
		servicesDir = "services"
	}
	bootstrap := platform.NewPlatformBootstrap(stack, "PlatformBootstrap", &platform.PlatformBootstrapProps{
		Vpc:            network.Vpc,
		Databases:      dbs,
		SecurityGroups: sgs,
		ServicesDir:    servicesDir,
		LogRetention:   logRetention,
	})
	platform.NewOutputs(stack, "Outputs", &platform.OutputsProps{Databases: dbs, Bootstrap: bootstrap})

	return &SupabaseStack{Stack: stack, Network: network, SecurityGroups: sgs, Databases: dbs, Cache: cache, Bootstrap: bootstrap}
}
