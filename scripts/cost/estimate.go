package main

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

// Template is the part of a CloudFormation template the estimate reads.
type Template struct {
	Resources map[string]Resource `json:"Resources"`
}

type Resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
}

func parseTemplate(data []byte) (Template, error) {
	var t Template
	if err := json.Unmarshal(data, &t); err != nil {
		return Template{}, fmt.Errorf("template: %w", err)
	}
	if len(t.Resources) == 0 {
		return Template{}, fmt.Errorf("template: no Resources")
	}
	return t, nil
}

// Line is one billed item of the estimate.
type Line struct {
	Type     string // resource type, or what the line is when no resource has it
	Name     string // logical ID, or a description
	Quantity float64
	Unit     string
	Price    float64 // USD per Unit
	Monthly  float64
}

// Unpriced is a resource (or part of one) the price list cannot price.
type Unpriced struct {
	Type, Name, Why string
}

// Estimate is the monthly cost of a template under a config.
type Estimate struct {
	Region   string
	Lines    []Line
	Unpriced []Unpriced
	// NoCharge counts the resources of each type that cost nothing by
	// themselves.
	NoCharge map[string]int
	Total    float64
}

// estimator prices one template.
type estimator struct {
	p   Prices
	r   RegionPrices
	cfg config.Config
	t   Template
	e   Estimate
}

func (x *estimator) add(typ, name string, qty float64, unit string, price float64) {
	m := qty * price
	x.e.Lines = append(x.e.Lines, Line{Type: typ, Name: name, Quantity: qty, Unit: unit, Price: price, Monthly: m})
	x.e.Total += m
}

func (x *estimator) unpriced(typ, name, why string) {
	x.e.Unpriced = append(x.e.Unpriced, Unpriced{typ, name, why})
}

// pricers price the resource types that cost something by themselves.
var pricers = map[string]func(x *estimator, id string, r Resource){
	"AWS::RDS::DBInstance":                       (*estimator).rds,
	"AWS::ElastiCache::ReplicationGroup":         (*estimator).elasticache,
	"AWS::ECS::Service":                          (*estimator).fargate,
	"AWS::ECS::Cluster":                          (*estimator).containerInsights,
	"AWS::ElasticLoadBalancingV2::LoadBalancer":  (*estimator).loadBalancer,
	"AWS::EC2::NatGateway":                       (*estimator).natGateway,
	"AWS::EC2::EIP":                              (*estimator).eip,
	"AWS::KMS::Key":                              (*estimator).kmsKey,
	"AWS::SecretsManager::Secret":                (*estimator).secret,
	"AWS::CloudWatch::Alarm":                     (*estimator).alarm,
	"AWS::CloudWatch::CompositeAlarm":            (*estimator).compositeAlarm,
	"AWS::CloudWatch::Dashboard":                 (*estimator).dashboard,
	"AWS::CloudWatch::InsightRule":               (*estimator).insightRule,
	"AWS::Logs::MetricFilter":                    (*estimator).metricFilter,
	"AWS::Route53::HostedZone":                   (*estimator).hostedZone,
	"AWS::ServiceDiscovery::PrivateDnsNamespace": (*estimator).hostedZone,
	"AWS::ServiceDiscovery::Service":             (*estimator).cloudMapService,
	"AWS::S3::Bucket":                            (*estimator).bucket,
	"AWS::Cognito::UserPool":                     (*estimator).userPool,
}

// estimate prices every resource of t: a type with a pricer is priced, a
// type the price list says is free is counted, anything else is reported as
// unpriced by name.
func estimate(p Prices, cfg config.Config, t Template) (Estimate, error) {
	r, err := p.region(cfg.Env.Region)
	if err != nil {
		return Estimate{}, err
	}
	x := &estimator{p: p, r: r, cfg: cfg, t: t, e: Estimate{Region: cfg.Env.Region, NoCharge: map[string]int{}}}
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	// Lines by type, then logical ID, so two runs print the same report.
	sort.Slice(ids, func(i, j int) bool {
		a, b := t.Resources[ids[i]], t.Resources[ids[j]]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return ids[i] < ids[j]
	})
	logs := false
	for _, id := range ids {
		res := t.Resources[id]
		if res.Type == "AWS::Logs::LogGroup" || res.Type == "AWS::EC2::FlowLog" {
			logs = true
		}
		if f, ok := pricers[res.Type]; ok {
			f(x, id, res)
			continue
		}
		if _, ok := p.NoCharge[res.Type]; ok {
			x.e.NoCharge[res.Type]++
			continue
		}
		why := "no price for this resource type in scripts/cost/prices.json"
		if w, ok := p.Waived[res.Type]; ok {
			why = "waived: " + w
		}
		x.unpriced(res.Type, id, why)
	}
	x.usageLines(logs)
	return x.e, nil
}

// usageLines are the costs that follow from traffic rather than from one
// resource, at the stated volumes.
func (x *estimator) usageLines(logs bool) {
	u, r := x.p.Usage, x.r
	if x.count("AWS::EC2::NatGateway") > 0 {
		x.add("NAT data processed", "all NAT gateways (stated volume)", u.NATGBProcessedPerMonth, "GB", r.NATGBProcessed)
	}
	if logs {
		x.add("CloudWatch Logs ingestion", "all log groups (stated volume)", u.LogIngestGBPerMonth, "GB", r.LogsIngestGB)
		// Kept for the retention period, uncompressed: an upper bound.
		stored := u.LogIngestGBPerMonth * float64(x.cfg.Logs.RetentionDays) / 30
		x.add("CloudWatch Logs storage", fmt.Sprintf("%d days of ingestion", x.cfg.Logs.RetentionDays), stored, "GB-month", r.LogsStoreGBMonth)
	}
	if d := x.cfg.Domain; d != nil && x.count("AWS::Route53::HostedZone") == 0 {
		// The stack adds records to a zone it does not create, but the
		// platform cannot run without it.
		x.add("Route 53 hosted zone", "domain.hostedZoneId "+d.HostedZoneID+" (from the config)", 1, "zone-month", r.HostedZoneMonth)
	}
}

func (x *estimator) count(typ string) int {
	n := 0
	for _, r := range x.t.Resources {
		if r.Type == typ {
			n++
		}
	}
	return n
}

func (x *estimator) hours() float64 { return x.p.HoursPerMonth }

func (x *estimator) rds(id string, r Resource) {
	class, _ := r.Properties["DBInstanceClass"].(string)
	factor := 1.0
	if b, _ := r.Properties["MultiAZ"].(bool); b {
		factor = x.r.RDSMultiAzFactor
	}
	if price, ok := x.r.RDSInstanceHour[class]; ok {
		x.add("AWS::RDS::DBInstance", id+" "+class+multiAz(factor), x.hours()*factor, "instance-hour", price)
	} else {
		x.unpriced("AWS::RDS::DBInstance", id, fmt.Sprintf("no price for instance class %q", class))
	}
	storage, ok := number(r.Properties["AllocatedStorage"])
	kind, _ := r.Properties["StorageType"].(string)
	if kind == "" {
		kind = "gp2"
	}
	price, known := x.r.RDSStorageGBMonth[kind]
	switch {
	case !ok:
		x.unpriced("AWS::RDS::DBInstance", id, "AllocatedStorage is not a number")
	case !known:
		x.unpriced("AWS::RDS::DBInstance", id, fmt.Sprintf("no price for storage type %q", kind))
	default:
		x.add("AWS::RDS::DBInstance", id+" storage "+kind+multiAz(factor), storage*factor, "GB-month", price)
	}
	for _, p := range []string{"Iops", "StorageThroughput"} {
		if _, set := r.Properties[p]; set {
			x.unpriced("AWS::RDS::DBInstance", id, p+" above the baseline is not priced")
		}
	}
}

func multiAz(factor float64) string {
	if factor > 1 {
		return " Multi-AZ"
	}
	return ""
}

func (x *estimator) elasticache(id string, r Resource) {
	node, _ := r.Properties["CacheNodeType"].(string)
	nodes, ok := number(r.Properties["NumCacheClusters"])
	if !ok {
		groups, gok := number(r.Properties["NumNodeGroups"])
		replicas, _ := number(r.Properties["ReplicasPerNodeGroup"])
		if !gok {
			groups = 1
		}
		nodes = groups * (1 + replicas)
	}
	price, known := x.r.ElastiCacheNodeHour[node]
	if !known {
		x.unpriced("AWS::ElastiCache::ReplicationGroup", id, fmt.Sprintf("no price for node type %q", node))
	} else {
		x.add("AWS::ElastiCache::ReplicationGroup", fmt.Sprintf("%s %d x %s", id, int(nodes), node), nodes*x.hours(), "node-hour", price)
	}
	if n, _ := number(r.Properties["SnapshotRetentionLimit"]); n > 0 {
		x.add("AWS::ElastiCache::ReplicationGroup", fmt.Sprintf("%s backups (%d kept, stated size)", id, int(n)), n*x.p.Usage.CacheBackupGB, "GB-month", x.r.ElastiCacheBackupGBMonth)
	}
}

func (x *estimator) fargate(id string, r Resource) {
	if lt, _ := r.Properties["LaunchType"].(string); lt != "FARGATE" {
		x.unpriced("AWS::ECS::Service", id, fmt.Sprintf("launch type %q is not priced (only FARGATE)", lt))
		return
	}
	desired, ok := number(r.Properties["DesiredCount"])
	if !ok {
		desired = 1 // CloudFormation's default
	}
	td, ok := x.t.Resources[ref(r.Properties["TaskDefinition"])]
	if !ok {
		x.unpriced("AWS::ECS::Service", id, "its task definition is not in the template")
		return
	}
	cpu, cok := number(td.Properties["Cpu"])
	mem, mok := number(td.Properties["Memory"])
	if !cok || !mok {
		x.unpriced("AWS::ECS::Service", id, "its task definition has no numeric Cpu and Memory")
		return
	}
	arch := "X86_64"
	if rp, ok := td.Properties["RuntimePlatform"].(map[string]any); ok {
		if a, ok := rp["CpuArchitecture"].(string); ok {
			arch = a
		}
	}
	price, known := x.r.Fargate[arch]
	if !known {
		x.unpriced("AWS::ECS::Service", id, fmt.Sprintf("no Fargate price for %s", arch))
		return
	}
	vcpu, gb := cpu/1024, mem/1024
	x.add("AWS::ECS::Service", fmt.Sprintf("%s %d x %g vCPU %s", id, int(desired), vcpu, arch), desired*vcpu*x.hours(), "vCPU-hour", price.VCPUHour)
	x.add("AWS::ECS::Service", fmt.Sprintf("%s %d x %g GB", id, int(desired), gb), desired*gb*x.hours(), "GB-hour", price.GBHour)
}

func (x *estimator) containerInsights(id string, r Resource) {
	mode := ""
	settings, _ := r.Properties["ClusterSettings"].([]any)
	for _, s := range settings {
		if m, ok := s.(map[string]any); ok && m["Name"] == "containerInsights" {
			mode, _ = m["Value"].(string)
		}
	}
	switch mode {
	case "", "disabled":
		x.e.NoCharge["AWS::ECS::Cluster"]++
	case "enabled":
		services := 0
		for _, s := range x.t.Resources {
			if s.Type == "AWS::ECS::Service" && ref(s.Properties["Cluster"]) == id {
				services++
			}
		}
		u := x.p.Usage
		metrics := u.ContainerInsightsMetricsPerCluster + float64(services)*u.ContainerInsightsMetricsPerService
		x.add("AWS::ECS::Cluster", fmt.Sprintf("%s Container Insights (%d services)", id, services), metrics, "metric-month", x.r.CustomMetricMonth)
	default:
		x.unpriced("AWS::ECS::Cluster", id, fmt.Sprintf("Container Insights %q is billed per observation, not priced", mode))
	}
}

func (x *estimator) loadBalancer(id string, r Resource) {
	if t, _ := r.Properties["Type"].(string); t != "" && t != "application" {
		x.unpriced("AWS::ElasticLoadBalancingV2::LoadBalancer", id, fmt.Sprintf("type %q is not priced (only application)", t))
		return
	}
	x.add("AWS::ElasticLoadBalancingV2::LoadBalancer", id, x.hours(), "ALB-hour", x.r.ALBHour)
	x.add("AWS::ElasticLoadBalancingV2::LoadBalancer", id+" LCUs (stated baseline)", x.p.Usage.ALBLcuPerHour*x.hours(), "LCU-hour", x.r.ALBLcuHour)
	if s, _ := r.Properties["Scheme"].(string); s == "internal" {
		return
	}
	// An internet-facing ALB holds one public IPv4 address per subnet.
	azs := len(list(r.Properties["Subnets"])) + len(list(r.Properties["SubnetMappings"]))
	x.add("AWS::ElasticLoadBalancingV2::LoadBalancer", fmt.Sprintf("%s public IPv4 x %d", id, azs), float64(azs)*x.hours(), "IPv4-hour", x.r.PublicIPv4Hour)
}

func (x *estimator) natGateway(id string, r Resource) {
	x.add("AWS::EC2::NatGateway", id, x.hours(), "NAT-hour", x.r.NATHour)
}

func (x *estimator) eip(id string, r Resource) {
	x.add("AWS::EC2::EIP", id+" public IPv4", x.hours(), "IPv4-hour", x.r.PublicIPv4Hour)
}

func (x *estimator) kmsKey(id string, r Resource) {
	x.add("AWS::KMS::Key", id, 1, "key-month", x.r.KMSKeyMonth)
}

func (x *estimator) secret(id string, r Resource) {
	x.add("AWS::SecretsManager::Secret", id, 1, "secret-month", x.r.SecretMonth)
}

func (x *estimator) alarm(id string, r Resource) {
	// An alarm is billed per metric it evaluates.
	metrics := 1.0
	if ms := list(r.Properties["Metrics"]); len(ms) > 0 {
		metrics = 0
		for _, m := range ms {
			if mm, ok := m.(map[string]any); ok && mm["MetricStat"] != nil {
				metrics++
			}
		}
	}
	if p, ok := number(r.Properties["Period"]); ok && p < 60 {
		x.add("AWS::CloudWatch::Alarm", id+" high resolution", metrics, "alarm-metric-month", x.r.AlarmHighResMonth)
		return
	}
	x.add("AWS::CloudWatch::Alarm", id, metrics, "alarm-metric-month", x.r.AlarmStandardMonth)
}

func (x *estimator) compositeAlarm(id string, r Resource) {
	x.add("AWS::CloudWatch::CompositeAlarm", id, 1, "alarm-month", x.r.CompositeAlarmMonth)
}

func (x *estimator) dashboard(id string, r Resource) {
	x.add("AWS::CloudWatch::Dashboard", id, 1, "dashboard-month", x.r.DashboardMonth)
}

// insightRule is a Contributor Insights rule: a monthly fee and the log
// events it matches, at the stated volume.
func (x *estimator) insightRule(id string, r Resource) {
	x.add("AWS::CloudWatch::InsightRule", id, 1, "rule-month", x.r.InsightRuleMonth)
	x.add("AWS::CloudWatch::InsightRule", id+" matched events (stated volume)", x.p.Usage.InsightRuleEventsMillionPerMonth, "million events", x.r.InsightRuleEventsPerM)
}

// metricFilter publishes one custom metric, billed in hours it receives
// data; the platform-wide ones are priced as always receiving. A filter
// with dimensions makes one metric per dimension value (per project): the
// per-project cost prices those.
func (x *estimator) metricFilter(id string, r Resource) {
	for _, t := range list(r.Properties["MetricTransformations"]) {
		if tm, ok := t.(map[string]any); ok && len(list(tm["Dimensions"])) > 0 {
			x.e.NoCharge["AWS::Logs::MetricFilter"]++
			return
		}
	}
	x.add("AWS::Logs::MetricFilter", id+" platform metric", 1, "metric-month", x.r.CustomMetricMonth)
}

func (x *estimator) hostedZone(id string, r Resource) {
	x.add(x.t.Resources[id].Type, id+" hosted zone", 1, "zone-month", x.r.HostedZoneMonth)
}

func (x *estimator) cloudMapService(id string, r Resource) {
	// Each running task of a service registered here is one instance.
	instances := 0.0
	for _, s := range x.t.Resources {
		if s.Type != "AWS::ECS::Service" {
			continue
		}
		for _, reg := range list(s.Properties["ServiceRegistries"]) {
			if m, ok := reg.(map[string]any); ok && getAtt(m["RegistryArn"]) == id {
				d, ok := number(s.Properties["DesiredCount"])
				if !ok {
					d = 1
				}
				instances += d
			}
		}
	}
	x.add("AWS::ServiceDiscovery::Service", id, instances, "instance-month", x.r.CloudMapInstanceMonth)
}

func (x *estimator) bucket(id string, r Resource) {
	x.add("AWS::S3::Bucket", id+" (stated size)", x.p.Usage.AccessLogGBStored, "GB-month", x.r.S3StandardGBMonth)
}

func (x *estimator) userPool(id string, r Resource) {
	mau := x.p.Usage.StudioOperators
	billed := math.Max(0, mau-x.r.CognitoFreeMau)
	x.add("AWS::Cognito::UserPool", fmt.Sprintf("%s %g operators (first %g MAU free)", id, mau, x.r.CognitoFreeMau), billed, "MAU", x.r.CognitoMau)
}

// number reads a template number, which CloudFormation also accepts as a
// string.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

func list(v any) []any { l, _ := v.([]any); return l }

// ref is the logical ID of {"Ref": id}, or "".
func ref(v any) string {
	if m, ok := v.(map[string]any); ok {
		s, _ := m["Ref"].(string)
		return s
	}
	return ""
}

// getAtt is the logical ID of {"Fn::GetAtt": [id, attr]}, or "".
func getAtt(v any) string {
	if m, ok := v.(map[string]any); ok {
		if l := list(m["Fn::GetAtt"]); len(l) > 0 {
			s, _ := l[0].(string)
			return s
		}
	}
	return ""
}

// constructToken is how a worker id appears in logical IDs: CDK drops the
// dashes and capitalises each part ("supabase-worker-01" →
// "SupabaseWorker01").
func constructToken(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
