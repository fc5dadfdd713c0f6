// Package config holds the typed configuration of the platform (config.json):
// the structs, their defaults, loading from config.json and validation.
package config

import "encoding/json"

// Config is the whole of config.json. Every field has a default (see Default)
// so a config file only needs to state what differs.
type Config struct {
	// Schema lets editors find config.schema.json; it is not used otherwise.
	Schema       string            `json:"$schema,omitempty"`
	StackName    string            `json:"stackName"`
	Env          Env               `json:"env"`
	Tags         map[string]string `json:"tags"`
	Domain       *Domain           `json:"domain"`
	AdminCidrs   []string          `json:"adminCidrs"`
	Network      Network           `json:"network"`
	Database     Database          `json:"database"`
	Cache        Cache             `json:"cache"`
	Services     Services          `json:"services"`
	TenantLambda TenantLambda      `json:"tenantLambda"`
	// TenantDatabase holds the guards applied inside every tenant database.
	TenantDatabase TenantDatabase `json:"tenantDatabase"`
	// EdgeFunctions sizes each project's functions Lambda.
	EdgeFunctions EdgeFunctions `json:"edgeFunctions"`
	Gateway       Gateway       `json:"gateway"`
	Logs          Logs          `json:"logs"`
	Alarms        Alarms        `json:"alarms"`
	// StudioAuth is how Supabase Studio authenticates its users: "auto"
	// (the default: "cognito" with a domain, "basic" without), "cognito"
	// (ALB authentication with a Cognito user pool of the stack; needs a
	// domain, since ALBs authenticate only on HTTPS listeners) or "basic"
	// (HTTP Basic authentication in Studio's container, password in
	// Secrets Manager).
	StudioAuth string `json:"studioAuth"`
	// EndUserPool optionally creates a Cognito user pool for tenant apps'
	// end users.
	EndUserPool EndUserPool `json:"endUserPool"`
}

// EndUserPool is the optional platform user pool for end users.
type EndUserPool struct {
	Enabled    bool `json:"enabled"`
	SelfSignUp bool `json:"selfSignUp"`
}

// Studio authentication modes.
const (
	StudioAuthAuto    = "auto"
	StudioAuthCognito = "cognito"
	StudioAuthBasic   = "basic"
)

// StudioAuthMode resolves "auto".
func (c *Config) StudioAuthMode() string {
	if c.StudioAuth == StudioAuthAuto || c.StudioAuth == "" {
		if c.HasDomain() {
			return StudioAuthCognito
		}
		return StudioAuthBasic
	}
	return c.StudioAuth
}

// Env pins the stack to a region, and optionally an account. The region is
// always set (default us-east-1): ALB access-log delivery is granted to a
// per-region principal, which CDK can only name for a known region. With no
// account the stack deploys to whichever account the credentials point at.
type Env struct {
	Account string `json:"account"`
	Region  string `json:"region"`
}

// Domain switches the platform from no-domain mode (HTTP, project taken from
// X-Project-ID) to TLS with one certificate for name and *.name.
type Domain struct {
	Name           string `json:"name"`
	HostedZoneID   string `json:"hostedZoneId"`
	HostedZoneName string `json:"hostedZoneName"`
	CertificateArn string `json:"certificateArn"`
}

type Network struct {
	Cidr   string `json:"cidr"`
	MaxAzs int    `json:"maxAzs"`
	// AvailabilityZones names the AZs explicitly. It is required for a stack
	// pinned to an account, because the stack never looks AZs up at synth
	// time; otherwise the first maxAzs AZs of the region are used.
	AvailabilityZones []string `json:"availabilityZones,omitempty"`
	NatGateways       int      `json:"natGateways"`
	FlowLogs          bool     `json:"flowLogs"`
}

type Database struct {
	EngineVersion string `json:"engineVersion"`
	// RemovalPolicy applies to every instance: retain, snapshot or destroy.
	RemovalPolicy string   `json:"removalPolicy"`
	Primary       Instance `json:"primary"`
	Workers       []Worker `json:"workers"`
}

// Instance is the sizing and protection of one RDS instance.
type Instance struct {
	InstanceClass          string `json:"instanceClass"`
	AllocatedStorageGiB    int    `json:"allocatedStorageGiB"`
	MaxAllocatedStorageGiB int    `json:"maxAllocatedStorageGiB"`
	MultiAz                bool   `json:"multiAz"`
	BackupRetentionDays    int    `json:"backupRetentionDays"`
	DeletionProtection     bool   `json:"deletionProtection"`
}

// Worker is an RDS instance that holds tenant databases.
type Worker struct {
	ID         string `json:"id"`
	MaxTenants int    `json:"maxTenants"`
	// MaxConnections overrides the RDS default max_connections of the
	// instance class, for the connection budget check.
	MaxConnections *int `json:"maxConnections,omitempty"`
	Instance
}

// UnmarshalJSON starts every worker from the worker defaults, so a worker
// entry in config.json only needs its id.
func (w *Worker) UnmarshalJSON(b []byte) error {
	type plain Worker
	p := plain(defaultWorker(""))
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*w = Worker(p)
	return nil
}

type Cache struct {
	NodeType          string `json:"nodeType"`
	EngineVersion     string `json:"engineVersion"`
	Replicas          int    `json:"replicas"`
	TransitEncryption bool   `json:"transitEncryption"`
}

type Services struct {
	Kong          Service `json:"kong"`
	TenantManager Service `json:"tenantManager"`
	Studio        Service `json:"studio"`
	Functions     Service `json:"functions"`
	PostgresMeta  Service `json:"postgresMeta"`
}

// Service sizes one Fargate service. Image, when set, is a registry URI used
// instead of the container asset built from services/<name>.
type Service struct {
	CPU          int    `json:"cpu"`
	MemoryMiB    int    `json:"memoryMiB"`
	DesiredCount int    `json:"desiredCount"`
	MinCount     *int   `json:"minCount,omitempty"`
	MaxCount     *int   `json:"maxCount,omitempty"`
	Image        string `json:"image,omitempty"`
}

// Min is the autoscaling floor: minCount, or desiredCount when unset.
func (s Service) Min() int {
	if s.MinCount != nil {
		return *s.MinCount
	}
	return s.DesiredCount
}

// Max is the autoscaling ceiling: maxCount, or desiredCount when unset.
func (s Service) Max() int {
	if s.MaxCount != nil {
		return *s.MaxCount
	}
	return s.DesiredCount
}

type TenantLambda struct {
	MemoryMiB      int `json:"memoryMiB"`
	TimeoutSeconds int `json:"timeoutSeconds"`
	// ReservedConcurrency is applied to every tenant function at creation
	// (nil: none); a project may have its own.
	ReservedConcurrency *int `json:"reservedConcurrency,omitempty"`
	// AccountConcurrency is the account's regional Lambda quota, which
	// reserved concurrency must leave 100 of.
	AccountConcurrency int `json:"accountConcurrency"`
	// LogGroupOnDelete is "delete" or "retain": the fate of a tenant
	// function's log group when the tenant is deleted.
	LogGroupOnDelete string `json:"logGroupOnDelete"`
}

// EdgeFunctions is how each project's functions Lambda is made.
type EdgeFunctions struct {
	MemoryMiB           int  `json:"memoryMiB"`
	TimeoutSeconds      int  `json:"timeoutSeconds"`
	ReservedConcurrency *int `json:"reservedConcurrency,omitempty"`
	KeepVersions        int  `json:"keepVersions"`
}

// TenantDatabase bounds what one tenant can take of a shared worker.
type TenantDatabase struct {
	ConnectionLimit                      int `json:"connectionLimit"`
	ReservedConnections                  int `json:"reservedConnections"`
	AnonStatementTimeoutSeconds          int `json:"anonStatementTimeoutSeconds"`
	AuthenticatedStatementTimeoutSeconds int `json:"authenticatedStatementTimeoutSeconds"`
	ServiceRoleStatementTimeoutSeconds   int `json:"serviceRoleStatementTimeoutSeconds"`
}

type Gateway struct {
	JwtTTLSeconds   int       `json:"jwtTtlSeconds"`
	CacheTTLSeconds int       `json:"cacheTtlSeconds"`
	RateLimit       RateLimit `json:"rateLimit"`
}

// RateLimit is a token bucket per project: RPS tokens a second (0: no
// limit), at most Burst at once.
type RateLimit struct {
	RPS   int `json:"rps"`
	Burst int `json:"burst"`
}

type Logs struct {
	RetentionDays int `json:"retentionDays"`
}

type Alarms struct {
	Email string `json:"email,omitempty"`
	// Tenant are the alarms the tenant-manager creates per project.
	Tenant TenantAlarms `json:"tenant"`
}

// TenantAlarms are each project's alarms and their thresholds.
type TenantAlarms struct {
	Kinds                    []string `json:"kinds"`
	Gateway5xxThreshold      int      `json:"gateway5xxThreshold"`
	LambdaErrorsThreshold    int      `json:"lambdaErrorsThreshold"`
	LambdaThrottlesThreshold int      `json:"lambdaThrottlesThreshold"`
	LambdaDurationRatio      float64  `json:"lambdaDurationRatio"`
}

// HasDomain reports whether the platform is served under a DNS domain.
func (c *Config) HasDomain() bool { return c.Domain != nil }
