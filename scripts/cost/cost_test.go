package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

// The snapshot templates are the synthesized default and domain stacks,
// kept current by the snapshot test in test/: pricing them needs no synth.
var cases = []struct{ name, template, config string }{
	{"no-domain", "../../test/testdata/snapshot-no-domain.template.json", "../../config.json"},
	{"domain", "../../test/testdata/snapshot-domain.template.json", "../../test/testdata/domain.json"},
}

func load(t *testing.T, templatePath, configPath string) (Prices, config.Config, Template) {
	t.Helper()
	p, err := loadPrices("")
	require.NoError(t, err)
	cfg, err := config.Load(configPath)
	require.NoError(t, err)
	data, err := os.ReadFile(templatePath)
	require.NoError(t, err)
	tmpl, err := parseTemplate(data)
	require.NoError(t, err)
	return p, cfg, tmpl
}

func mustEstimate(t *testing.T, p Prices, cfg config.Config, tmpl Template) Estimate {
	t.Helper()
	e, err := estimate(p, cfg, tmpl)
	require.NoError(t, err)
	return e
}

// clone deep-copies a template so a case can change it.
func clone(t *testing.T, tmpl Template) Template {
	t.Helper()
	b, err := json.Marshal(tmpl)
	require.NoError(t, err)
	var c Template
	require.NoError(t, json.Unmarshal(b, &c))
	return c
}

func TestEveryResourceTypeIsPricedOrFree(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, cfg, tmpl := load(t, tc.template, tc.config)
			types := map[string]bool{}
			for _, r := range tmpl.Resources {
				types[r.Type] = true
			}
			var list []string
			for typ := range types {
				list = append(list, typ)
			}
			sort.Strings(list)
			t.Logf("resource types of the %s template: %s", tc.name, strings.Join(list, ", "))
			for _, typ := range list {
				_, priced := pricers[typ]
				_, free := p.NoCharge[typ]
				_, waived := p.Waived[typ]
				require.True(t, priced || free || waived, "%s has no price, is not listed as free and is not waived in prices.json", typ)
			}
			e := mustEstimate(t, p, cfg, tmpl)
			for _, u := range e.Unpriced {
				_, waived := p.Waived[u.Type]
				require.True(t, waived, "unpriced and not waived: %s %s (%s)", u.Type, u.Name, u.Why)
			}
			sum := 0.0
			for _, l := range e.Lines {
				sum += l.Monthly
			}
			require.InDelta(t, sum, e.Total, 1e-9)
			require.Greater(t, e.Total, 0.0)
		})
	}
}

func TestUnknownTypeIsListedByName(t *testing.T) {
	p, cfg, tmpl := load(t, cases[0].template, cases[0].config)
	before := mustEstimate(t, p, cfg, tmpl).Total
	tmpl = clone(t, tmpl)
	tmpl.Resources["SearchDomain"] = Resource{Type: "AWS::OpenSearchService::Domain"}
	tmpl.Resources["BigDb"] = Resource{Type: "AWS::RDS::DBInstance", Properties: map[string]any{"DBInstanceClass": "db.x2g.16xlarge", "AllocatedStorage": "20", "StorageType": "gp3"}}
	e := mustEstimate(t, p, cfg, tmpl)
	var out bytes.Buffer
	require.NoError(t, report(&out, p, cfg, e))
	require.Contains(t, out.String(), "NOT PRICED")
	require.Contains(t, out.String(), "AWS::OpenSearchService::Domain")
	require.Contains(t, out.String(), `no price for instance class "db.x2g.16xlarge"`)
	// The storage of the unknown class is still priced.
	require.InDelta(t, before+20*p.Regions["us-east-1"].RDSStorageGBMonth["gp3"], e.Total, 1e-9)
}

// lastTotal is the amount on the report's last line that says "total".
func lastTotal(t *testing.T, report string) float64 {
	t.Helper()
	var last string
	for _, line := range strings.Split(report, "\n") {
		if strings.Contains(strings.ToLower(line), "total") {
			last = line
		}
	}
	require.NotEmpty(t, last, "no line says total")
	f := strings.Fields(last)
	v, err := strconv.ParseFloat(f[len(f)-1], 64)
	require.NoError(t, err, last)
	return v
}

func reportTotal(t *testing.T, p Prices, cfg config.Config, tmpl Template) float64 {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, report(&out, p, cfg, mustEstimate(t, p, cfg, tmpl)))
	return lastTotal(t, out.String())
}

func resourceOf(t *testing.T, tmpl Template, typ, contains string) string {
	t.Helper()
	for id, r := range tmpl.Resources {
		if r.Type == typ && strings.Contains(id, contains) {
			return id
		}
	}
	t.Fatalf("no %s with %q in the template", typ, contains)
	return ""
}

// requireTotalMoves edits a copy of the first case's template with change,
// which returns the difference the prices say the edit makes, and checks
// that the report's total moves by that much.
func requireTotalMoves(t *testing.T, change func(p Prices, cfg config.Config, r RegionPrices, changed Template) (want float64)) {
	t.Helper()
	p, cfg, tmpl := load(t, cases[0].template, cases[0].config)
	before := reportTotal(t, p, cfg, tmpl)
	changed := clone(t, tmpl)
	want := change(p, cfg, p.Regions["us-east-1"], changed)
	require.InDelta(t, want, reportTotal(t, p, cfg, changed)-before, 0.011)
}

func TestWorkerInstanceClassChangesTheTotalByThePriceDifference(t *testing.T) {
	requireTotalMoves(t, func(p Prices, cfg config.Config, r RegionPrices, changed Template) float64 {
		id := resourceOf(t, changed, "AWS::RDS::DBInstance", constructToken(cfg.Database.Workers[0].ID))
		from := changed.Resources[id].Properties["DBInstanceClass"].(string)
		changed.Resources[id].Properties["DBInstanceClass"] = "db.m6g.large"
		want := (r.RDSInstanceHour["db.m6g.large"] - r.RDSInstanceHour[from]) * p.HoursPerMonth
		require.NotZero(t, want)
		return want
	})
}

func TestDesiredCountChangesTheTotalByThePriceDifference(t *testing.T) {
	requireTotalMoves(t, func(p Prices, _ config.Config, r RegionPrices, changed Template) float64 {
		id := resourceOf(t, changed, "AWS::ECS::Service", "Kong")
		svc := changed.Resources[id].Properties
		svc["DesiredCount"] = 3.0
		td := changed.Resources[ref(svc["TaskDefinition"])].Properties
		cpu, _ := number(td["Cpu"])
		mem, _ := number(td["Memory"])
		// Two more tasks: their Fargate hours, and two more Cloud Map instances
		// (the Kong service registers in kong.local).
		return 2*p.HoursPerMonth*(cpu/1024*r.Fargate["X86_64"].VCPUHour+mem/1024*r.Fargate["X86_64"].GBHour) + 2*r.CloudMapInstanceMonth
	})
}

func TestNatGatewayCountChangesTheTotalByThePriceDifference(t *testing.T) {
	requireTotalMoves(t, func(p Prices, _ config.Config, r RegionPrices, changed Template) float64 {
		// natGateways: 2 adds a gateway and its Elastic IP in the second
		// public subnet; the stated data volume is shared, not per gateway.
		changed.Resources["NetworkVpcpublicSubnet2NATGateway"] = changed.Resources[resourceOf(t, changed, "AWS::EC2::NatGateway", "")]
		changed.Resources["NetworkVpcpublicSubnet2EIP"] = changed.Resources[resourceOf(t, changed, "AWS::EC2::EIP", "")]
		return p.HoursPerMonth * (r.NATHour + r.PublicIPv4Hour)
	})
}

func TestTenantCost(t *testing.T) {
	p, cfg, _ := load(t, cases[0].template, cases[0].config)
	r := p.Regions["us-east-1"]
	// The tenant-manager creates a function, its URL, its log group and
	// one alarm per project; the function, URL and log group are free
	// while idle and the gateway's per-project metrics bill only in hours
	// with traffic. So a project without traffic costs its alarm.
	idle, err := tenantCost(p, r, cfg, 0)
	require.NoError(t, err)
	require.InDelta(t, r.AlarmStandardMonth, idle.Monthly, 1e-9)
	require.LessOrEqual(t, idle.Monthly, 0.10, "an idle project's observability stays within $0.10 a month")
	all := cfg
	all.Alarms.Tenant.Kinds = []string{"gateway-5xx", "lambda-errors", "lambda-throttles", "lambda-duration"}
	four, err := tenantCost(p, r, all, 0)
	require.NoError(t, err)
	require.InDelta(t, 4*r.AlarmStandardMonth, four.Monthly, 1e-9, "each configured alarm kind bills every month")

	one, err := tenantCost(p, r, cfg, 1)
	require.NoError(t, err)
	requests := 3600 * p.HoursPerMonth
	gbs := requests * p.Usage.TenantRequestMs / 1000 * float64(cfg.TenantLambda.MemoryMiB) / 1024
	logGB := requests * p.Usage.TenantLogBytesPerRequest / 1e9
	traffic := requests/1e6*r.LambdaRequestsPerMillion + gbs*r.Lambda["x86_64"].GBSecond +
		logGB*r.LogsIngestGB + logGB*float64(cfg.Logs.RetentionDays)/30*r.LogsStoreGBMonth
	fixed := r.AlarmStandardMonth + 4*r.CustomMetricMonth
	require.InDelta(t, fixed+traffic, one.Monthly, 1e-9, "traffic, the alarm and the four per-project gateway metrics")
	ten, err := tenantCost(p, r, cfg, 10)
	require.NoError(t, err)
	require.InDelta(t, fixed+10*traffic, ten.Monthly, 1e-9, "traffic costs scale with the rate")

	// A per-project secret would show up in the idle cost.
	p.Tenant.Secrets = 1
	withSecret, err := tenantCost(p, r, cfg, 0)
	require.NoError(t, err)
	require.InDelta(t, r.SecretMonth+r.AlarmStandardMonth, withSecret.Monthly, 1e-9)
}

func TestTenantTableAddsWorkers(t *testing.T) {
	p, cfg, tmpl := load(t, cases[0].template, cases[0].config)
	e := mustEstimate(t, p, cfg, tmpl)
	perWorker, _ := workerCost(e, cfg)
	r := p.Regions["us-east-1"]
	w := cfg.Database.Workers[0]
	require.InDelta(t, r.RDSInstanceHour[w.InstanceClass]*p.HoursPerMonth+float64(w.AllocatedStorageGiB)*r.RDSStorageGBMonth["gp3"]+
		r.SecretMonth+3*r.AlarmStandardMonth, perWorker, 1e-9, "a worker is its instance, storage, master secret and three alarms")
	idle := TenantCost{}
	n := 3*w.MaxTenants + 1
	rows := tenantTable(e, cfg, []TenantCost{idle}, []int{1, n})
	require.Equal(t, 1, rows[0].Workers)
	require.InDelta(t, e.Total, rows[0].Monthly[0], 1e-9)
	require.Equal(t, 4, rows[1].Workers)
	require.InDelta(t, e.Total+3*perWorker, rows[1].Monthly[0], 1e-9)
}

func TestOtherRegionsAreRefused(t *testing.T) {
	p, cfg, tmpl := load(t, cases[0].template, cases[0].config)
	cfg.Env.Region = "ap-southeast-7"
	_, err := estimate(p, cfg, tmpl)
	require.ErrorContains(t, err, `no list prices for region "ap-southeast-7"`)
}

func TestPricesStateTheirSourceAndDate(t *testing.T) {
	p, err := loadPrices("")
	require.NoError(t, err)
	require.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, p.Date)
	for _, s := range p.Sources {
		require.True(t, strings.HasPrefix(s, "https://aws.amazon.com/"), s)
	}
	for name, r := range p.Regions {
		for class, v := range r.RDSInstanceHour {
			require.False(t, v <= 0 || math.IsNaN(v), "%s %s", name, class)
		}
	}
}

// The estimate must not depend on the network: the command does not even
// link a network client.
func TestNoNetworkClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	for _, dep := range strings.Fields(string(out)) {
		require.NotContains(t, []string{"net", "net/http", "crypto/tls"}, dep)
	}
}

// The per-tenant observability of the default template: the three rules,
// four platform metrics and the tenants dashboard every month; per
// project its alarm, and with traffic four metrics and one event per rule
// and request. An idle project stays within $0.10.
func TestObservabilityCost(t *testing.T) {
	p, cfg, tmpl := load(t, cases[0].template, cases[0].config)
	r := p.Regions["us-east-1"]
	e := mustEstimate(t, p, cfg, tmpl)
	fixed, rules := observabilityFixed(e)
	require.Equal(t, 3, rules)
	require.InDelta(t, 3*r.InsightRuleMonth+4*r.CustomMetricMonth+r.DashboardMonth, fixed, 1e-9)

	require.InDelta(t, 0.10, observabilityPerTenant(p, r, cfg, rules, 0), 1e-9)
	events := 3600 * p.HoursPerMonth
	require.InDelta(t, r.AlarmStandardMonth+4*r.CustomMetricMonth+3*events/1e6*r.InsightRuleEventsPerM,
		observabilityPerTenant(p, r, cfg, rules, 1), 1e-9)

	rows := observabilityTable(p, r, cfg, e, []float64{0, 1}, []int{10, 1000})
	require.InDelta(t, fixed+10*0.10, rows[0].Monthly[0], 1e-9)
	require.InDelta(t, fixed+1000*observabilityPerTenant(p, r, cfg, rules, 1), rows[1].Monthly[1], 1e-9)
}
