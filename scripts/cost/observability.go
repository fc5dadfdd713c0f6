package main

import (
	"strings"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

// ObservabilityRow is the per-tenant observability's monthly cost with N
// projects, at each request rate.
type ObservabilityRow struct {
	Tenants int
	Monthly []float64 // per rate, in the order given
}

// observabilityFixed is what the per-tenant observability costs whatever
// the traffic: the Contributor Insights rules, the platform-wide gateway
// metrics and the tenants dashboard, as priced in the template's lines
// (the rules' matched events are priced by rate instead).
func observabilityFixed(e Estimate) (fixed float64, rules int) {
	for _, l := range e.Lines {
		switch {
		case l.Type == "AWS::CloudWatch::InsightRule" && strings.Contains(l.Name, "matched events"):
		case l.Type == "AWS::CloudWatch::InsightRule":
			fixed += l.Monthly
			rules++
		case l.Type == "AWS::Logs::MetricFilter":
			fixed += l.Monthly
		case l.Type == "AWS::CloudWatch::Dashboard" && strings.HasPrefix(l.Name, "TenantMetrics"):
			fixed += l.Monthly
		}
	}
	return fixed, rules
}

// observabilityPerTenant is what one project adds at a rate: its alarms
// every month, the gateway's per-project metrics in hours with traffic,
// and each rule's matched log events (one access-log line per request).
func observabilityPerTenant(p Prices, r RegionPrices, cfg config.Config, rules int, rate float64) float64 {
	cost := float64(len(cfg.Alarms.Tenant.Kinds)) * r.AlarmStandardMonth
	if rate > 0 {
		cost += p.Tenant.CustomMetricsWhenActive * r.CustomMetricMonth
		events := rate * 3600 * p.HoursPerMonth
		cost += float64(rules) * events / 1e6 * r.InsightRuleEventsPerM
	}
	return cost
}

func observabilityTable(p Prices, r RegionPrices, cfg config.Config, e Estimate, rates []float64, tenants []int) []ObservabilityRow {
	fixed, rules := observabilityFixed(e)
	var rows []ObservabilityRow
	for _, n := range tenants {
		row := ObservabilityRow{Tenants: n}
		for _, rate := range rates {
			row.Monthly = append(row.Monthly, fixed+float64(n)*observabilityPerTenant(p, r, cfg, rules, rate))
		}
		rows = append(rows, row)
	}
	return rows
}
