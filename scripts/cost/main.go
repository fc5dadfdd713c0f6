// Command cost prints a monthly estimate of a synthesized SupabaseStack
// template at the list prices of scripts/cost/prices.json, then what one
// more project adds, idle and at stated request rates. It reads only local
// files: scripts/cost.sh synthesizes the template and runs it.
//
//	go run ./scripts/cost -template cdk.out/SupabaseStack.template.json -config config.json
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

func main() {
	templatePath := flag.String("template", "cdk.out/SupabaseStack.template.json", "synthesized template")
	configPath := flag.String("config", "config.json", "the config the template was synthesized from")
	pricesPath := flag.String("prices", "", "price list (default: the checked-in scripts/cost/prices.json)")
	flag.Parse()
	if err := run(os.Stdout, *templatePath, *configPath, *pricesPath); err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, templatePath, configPath, pricesPath string) error {
	p, err := loadPrices(pricesPath)
	if err != nil {
		return err
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(templatePath)
	if err != nil {
		return fmt.Errorf("reading the template (run scripts/synth.sh first): %w", err)
	}
	t, err := parseTemplate(data)
	if err != nil {
		return err
	}
	e, err := estimate(p, cfg, t)
	if err != nil {
		return err
	}
	return report(w, p, cfg, e)
}

func report(w io.Writer, p Prices, cfg config.Config, e Estimate) error {
	r, err := p.region(e.Region)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Monthly estimate of %s in %s at on-demand list prices of %s (scripts/cost/prices.json), %g hours a month, USD\n",
		cfg.StackName, e.Region, p.Date, p.HoursPerMonth)
	u := p.Usage
	fmt.Fprintf(w, "Stated volumes: %g LCU per ALB, %g GB NAT data, %g GB logs ingested, %g GB access logs stored, %g GB cache backup, %g Studio operators a month\n\n",
		u.ALBLcuPerHour, u.NATGBProcessedPerMonth, u.LogIngestGBPerMonth, u.AccessLogGBStored, u.CacheBackupGB, u.StudioOperators)
	tw, nw := len("type"), len("item")
	for _, l := range e.Lines {
		tw, nw = max(tw, len(l.Type)), max(nw, len(l.Name))
	}
	fmt.Fprintf(w, "%-*s  %-*s %12s %-18s %10s %10s\n", tw, "type", nw, "item", "quantity", "unit", "USD/unit", "USD/month")
	for _, l := range e.Lines {
		fmt.Fprintf(w, "%-*s  %-*s %12.2f %-18s %10.6g %10.2f\n", tw, l.Type, nw, l.Name, l.Quantity, l.Unit, l.Price, l.Monthly)
	}
	types := make([]string, 0, len(e.NoCharge))
	for typ := range e.NoCharge {
		types = append(types, typ)
	}
	sort.Strings(types)
	fmt.Fprintln(w, "\nNo charge by themselves:")
	for _, typ := range types {
		why := p.NoCharge[typ]
		if why == "" {
			why = "no charge"
		}
		fmt.Fprintf(w, "  %-44s %3d  %s\n", typ, e.NoCharge[typ], why)
	}
	if len(e.Unpriced) > 0 {
		fmt.Fprintln(w, "\nNOT PRICED (not in the sum below):")
		for _, u := range e.Unpriced {
			fmt.Fprintf(w, "  %-44s %s: %s\n", u.Type, u.Name, u.Why)
		}
	}
	fmt.Fprintf(w, "\nMonthly total (USD): %.2f\n", e.Total)

	var costs []TenantCost
	for _, rate := range append([]float64{0}, u.TenantRequestRates...) {
		c, err := tenantCost(p, r, cfg, rate)
		if err != nil {
			return err
		}
		costs = append(costs, c)
	}
	fmt.Fprintf(w, "\nPer project (marginal, USD/month): a %d MiB %s function and its log group; %g secrets, %d alarms (alarms.tenant), %g custom metrics, %g more in hours with traffic\n",
		cfg.TenantLambda.MemoryMiB, p.Tenant.Architecture, p.Tenant.Secrets, len(cfg.Alarms.Tenant.Kinds), p.Tenant.CustomMetrics, p.Tenant.CustomMetricsWhenActive)
	fmt.Fprintf(w, "(stated: %g ms per request, %g log bytes per request; list prices without the Lambda free tier; shared capacity such as Kong tasks, LCUs and worker size not included)\n",
		u.TenantRequestMs, u.TenantLogBytesPerRequest)
	fmt.Fprintf(w, "%-10s %14s %14s %10s %10s\n", "req/s", "requests", "GB-seconds", "log GB", "USD/month")
	for _, c := range costs {
		label := fmt.Sprintf("%g", c.Rate)
		if c.Rate == 0 {
			label = "idle"
		}
		fmt.Fprintf(w, "%-10s %14.0f %14.0f %10.2f %10.2f\n", label, c.Requests, c.GBSeconds, c.LogGB, c.Monthly)
	}

	perWorker, worker := workerCost(e, cfg)
	fmt.Fprintf(w, "\nWith N projects (USD/month; a further worker like %s, %d projects each, adds %.2f):\n",
		worker, firstMaxTenants(cfg), perWorker)
	head := []string{fmt.Sprintf("%-9s %-8s %12s", "projects", "workers", "idle")}
	for _, c := range costs[1:] {
		head = append(head, fmt.Sprintf("%12s", fmt.Sprintf("%g req/s ea", c.Rate)))
	}
	fmt.Fprintln(w, strings.Join(head, " "))
	for _, row := range tenantTable(e, cfg, costs, []int{10, 100, 1000}) {
		cells := []string{fmt.Sprintf("%-9d %-8d", row.Tenants, row.Workers)}
		for _, m := range row.Monthly {
			cells = append(cells, fmt.Sprintf("%12.2f", m))
		}
		fmt.Fprintln(w, strings.Join(cells, " "))
	}

	rates := append([]float64{0}, u.TenantRequestRates...)
	fixed, rules := observabilityFixed(e)
	fmt.Fprintf(w, "\nPer-project observability (USD/month): %.2f fixed (%d Contributor Insights rules, platform gateway metrics, the tenants dashboard), per project %d alarms, %g gateway metrics in hours with traffic, %d rule events per request:\n",
		fixed, rules, len(cfg.Alarms.Tenant.Kinds), p.Tenant.CustomMetricsWhenActive, rules)
	head = []string{fmt.Sprintf("%-9s %12s", "projects", "idle")}
	for _, rate := range rates[1:] {
		head = append(head, fmt.Sprintf("%12s", fmt.Sprintf("%g req/s ea", rate)))
	}
	fmt.Fprintln(w, strings.Join(head, " "))
	for _, row := range observabilityTable(p, r, cfg, e, rates, []int{10, 100, 1000}) {
		cells := []string{fmt.Sprintf("%-9d %12.2f", row.Tenants, row.Monthly[0])}
		for _, m := range row.Monthly[1:] {
			cells = append(cells, fmt.Sprintf("%12.2f", m))
		}
		fmt.Fprintln(w, strings.Join(cells, " "))
	}
	return nil
}

func firstMaxTenants(cfg config.Config) int {
	if len(cfg.Database.Workers) == 0 {
		return 0
	}
	return cfg.Database.Workers[0].MaxTenants
}
