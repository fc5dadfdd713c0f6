package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

// TenantCost is what one more project adds per month at a request rate.
type TenantCost struct {
	Rate      float64 // requests per second, 0 = idle
	Requests  float64 // per month
	GBSeconds float64
	LogGB     float64
	Monthly   float64
}

// tenantCost prices one project: its function (requests and GB-seconds),
// what its log group ingests and keeps, the secrets and alarms the
// tenant-manager creates per project, and the gateway's per-project
// metrics when it has traffic. Shared
// capacity (Kong tasks, load balancer LCUs, the worker's size) grows in
// steps, not per project, and is not part of it.
func tenantCost(p Prices, r RegionPrices, cfg config.Config, rate float64) (TenantCost, error) {
	arch := p.Tenant.Architecture
	lp, ok := r.Lambda[arch]
	if !ok {
		return TenantCost{}, fmt.Errorf("no Lambda price for architecture %q", arch)
	}
	c := TenantCost{Rate: rate}
	c.Requests = rate * 3600 * p.HoursPerMonth
	c.GBSeconds = c.Requests * p.Usage.TenantRequestMs / 1000 * float64(cfg.TenantLambda.MemoryMiB) / 1024
	c.LogGB = c.Requests * p.Usage.TenantLogBytesPerRequest / 1e9
	stored := c.LogGB * float64(cfg.Logs.RetentionDays) / 30
	metrics := p.Tenant.CustomMetrics
	if rate > 0 {
		metrics += p.Tenant.CustomMetricsWhenActive
	}
	alarms := float64(len(cfg.Alarms.Tenant.Kinds))
	c.Monthly = p.Tenant.Secrets*r.SecretMonth + alarms*r.AlarmStandardMonth + metrics*r.CustomMetricMonth +
		c.Requests/1e6*r.LambdaRequestsPerMillion + c.GBSeconds*lp.GBSecond +
		c.LogGB*r.LogsIngestGB + stored*r.LogsStoreGBMonth
	return c, nil
}

// workerCost is the monthly cost of the template's lines that belong to the
// first worker (its instance, storage, master secret, alarms): what each
// further worker of the same size adds.
func workerCost(e Estimate, cfg config.Config) (float64, string) {
	if len(cfg.Database.Workers) == 0 {
		return 0, ""
	}
	token := constructToken(cfg.Database.Workers[0].ID)
	sum := 0.0
	for _, l := range e.Lines {
		if strings.Contains(l.Name, token) {
			sum += l.Monthly
		}
	}
	return sum, cfg.Database.Workers[0].ID
}

// TenantRow is one line of the tenants table.
type TenantRow struct {
	Tenants, Workers int
	Monthly          []float64 // idle, then at each rate
}

// tenantTable prices the platform with n projects: the estimate, the
// workers those projects need beyond the configured ones (each holding the
// first worker's maxTenants, at the first worker's cost), and each project's
// own cost at every rate.
func tenantTable(e Estimate, cfg config.Config, costs []TenantCost, counts []int) []TenantRow {
	perWorker, _ := workerCost(e, cfg)
	capacity := 0
	for _, w := range cfg.Database.Workers {
		capacity += w.MaxTenants
	}
	var rows []TenantRow
	for _, n := range counts {
		workers := len(cfg.Database.Workers)
		if n > capacity && len(cfg.Database.Workers) > 0 {
			per := cfg.Database.Workers[0].MaxTenants
			workers += int(math.Ceil(float64(n-capacity) / float64(per)))
		}
		base := e.Total + float64(workers-len(cfg.Database.Workers))*perWorker
		row := TenantRow{Tenants: n, Workers: workers}
		for _, c := range costs {
			row.Monthly = append(row.Monthly, base+float64(n)*c.Monthly)
		}
		rows = append(rows, row)
	}
	return rows
}
