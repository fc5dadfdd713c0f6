package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// pricesJSON is the checked-in price list: the tool never calls the network,
// so an estimate is as current as this file's date.
//
//go:embed prices.json
var pricesJSON []byte

// Prices is prices.json.
type Prices struct {
	Date          string                  `json:"date"`
	Sources       []string                `json:"sources"`
	HoursPerMonth float64                 `json:"hoursPerMonth"`
	Regions       map[string]RegionPrices `json:"regions"`
	Usage         Usage                   `json:"usage"`
	Tenant        TenantFootprint         `json:"tenant"`
	// NoCharge are resource types that cost nothing by themselves, with why.
	NoCharge map[string]string `json:"noCharge"`
	// Waived are resource types the tool knowingly cannot price, with why;
	// the report still lists them.
	Waived map[string]string `json:"waived"`
}

// RegionPrices are one region's list prices in USD.
type RegionPrices struct {
	RDSInstanceHour          map[string]float64      `json:"rdsInstanceHour"`
	RDSMultiAzFactor         float64                 `json:"rdsMultiAzFactor"`
	RDSStorageGBMonth        map[string]float64      `json:"rdsStorageGBMonth"`
	ElastiCacheNodeHour      map[string]float64      `json:"elasticacheNodeHour"`
	ElastiCacheBackupGBMonth float64                 `json:"elasticacheBackupGBMonth"`
	Fargate                  map[string]FargatePrice `json:"fargate"`
	ALBHour                  float64                 `json:"albHour"`
	ALBLcuHour               float64                 `json:"albLcuHour"`
	NATHour                  float64                 `json:"natHour"`
	NATGBProcessed           float64                 `json:"natGBProcessed"`
	PublicIPv4Hour           float64                 `json:"publicIpv4Hour"`
	KMSKeyMonth              float64                 `json:"kmsKeyMonth"`
	SecretMonth              float64                 `json:"secretMonth"`
	AlarmStandardMonth       float64                 `json:"alarmStandardMonth"`
	AlarmHighResMonth        float64                 `json:"alarmHighResMonth"`
	CompositeAlarmMonth      float64                 `json:"compositeAlarmMonth"`
	DashboardMonth           float64                 `json:"dashboardMonth"`
	CustomMetricMonth        float64                 `json:"customMetricMonth"`
	InsightRuleMonth         float64                 `json:"insightRuleMonth"`
	InsightRuleEventsPerM    float64                 `json:"insightRuleEventsPerMillion"`
	LogsIngestGB             float64                 `json:"logsIngestGB"`
	LogsStoreGBMonth         float64                 `json:"logsStoreGBMonth"`
	HostedZoneMonth          float64                 `json:"hostedZoneMonth"`
	CloudMapInstanceMonth    float64                 `json:"cloudMapInstanceMonth"`
	Lambda                   map[string]LambdaPrice  `json:"lambda"`
	LambdaRequestsPerMillion float64                 `json:"lambdaRequestsPerMillion"`
	S3StandardGBMonth        float64                 `json:"s3StandardGBMonth"`
	CognitoMau               float64                 `json:"cognitoMau"`
	CognitoFreeMau           float64                 `json:"cognitoFreeMau"`
}

type FargatePrice struct {
	VCPUHour float64 `json:"vcpuHour"`
	GBHour   float64 `json:"gbHour"`
}

type LambdaPrice struct {
	GBSecond float64 `json:"gbSecond"`
}

// Usage are the volumes a template cannot state.
type Usage struct {
	ALBLcuPerHour                      float64   `json:"albLcuPerHour"`
	NATGBProcessedPerMonth             float64   `json:"natGBProcessedPerMonth"`
	LogIngestGBPerMonth                float64   `json:"logIngestGBPerMonth"`
	AccessLogGBStored                  float64   `json:"accessLogGBStored"`
	CacheBackupGB                      float64   `json:"cacheBackupGB"`
	StudioOperators                    float64   `json:"studioOperators"`
	ContainerInsightsMetricsPerCluster float64   `json:"containerInsightsMetricsPerCluster"`
	ContainerInsightsMetricsPerService float64   `json:"containerInsightsMetricsPerService"`
	TenantRequestMs                    float64   `json:"tenantRequestMs"`
	TenantLogBytesPerRequest           float64   `json:"tenantLogBytesPerRequest"`
	TenantRequestRates                 []float64 `json:"tenantRequestRates"`
	// InsightRuleEventsMillionPerMonth is the log events each Contributor
	// Insights rule matches a month (the gateway's request lines).
	InsightRuleEventsMillionPerMonth float64 `json:"insightRuleEventsMillionPerMonth"`
}

// TenantFootprint is what the tenant-manager creates in AWS per project
// beyond its function and log group.
type TenantFootprint struct {
	Secrets       float64 `json:"secrets"`
	CustomMetrics float64 `json:"customMetrics"`
	// CustomMetricsWhenActive bill only for hours with data: a project
	// with traffic in every hour pays for all of them, an idle one none.
	CustomMetricsWhenActive float64 `json:"customMetricsWhenActive"`
	Architecture            string  `json:"architecture"`
}

// loadPrices reads the embedded price list, or path when it is not empty.
func loadPrices(path string) (Prices, error) {
	data := pricesJSON
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return Prices{}, fmt.Errorf("reading prices: %w", err)
		}
	}
	var p Prices
	if err := json.Unmarshal(data, &p); err != nil {
		return Prices{}, fmt.Errorf("prices: %w", err)
	}
	if p.Date == "" || len(p.Sources) == 0 || p.HoursPerMonth <= 0 {
		return Prices{}, fmt.Errorf("prices: date, sources and hoursPerMonth are required")
	}
	return p, nil
}

// region returns the prices of a region, or an error naming those known.
func (p Prices) region(name string) (RegionPrices, error) {
	r, ok := p.Regions[name]
	if !ok {
		known := make([]string, 0, len(p.Regions))
		for k := range p.Regions {
			known = append(known, k)
		}
		sort.Strings(known)
		return RegionPrices{}, fmt.Errorf("no list prices for region %q (the price list has %s): add that region to scripts/cost/prices.json from the pricing pages it cites, or estimate with env.region %s",
			name, strings.Join(known, ", "), known[0])
	}
	return r, nil
}
