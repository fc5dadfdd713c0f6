// Package config reads the tenant-manager's environment. A missing or
// malformed variable is reported in one line naming it.
package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Worker is one entry of WORKERS.
type Worker struct {
	ID         string `json:"id"`
	Host       string `json:"host"`
	Port       int    `json:"port"`
	User       string `json:"user"`
	Password   string `json:"password"`
	SecretArn  string `json:"secretArn"`
	SSLMode    string `json:"sslmode"`
	MaxTenants int    `json:"maxTenants"`
}

// Config is the whole environment.
type Config struct {
	ListenAddr string
	// InternalListenAddr serves /health and the two configuration endpoints
	// for the gateway and the tenant functions; it is never behind the
	// public load balancer.
	InternalListenAddr  string
	PlatformDatabaseURL string
	// PlatformDatabaseSecretArn, when set, supplies the platform database's
	// username and password from Secrets Manager (kept current under rotation).
	PlatformDatabaseSecretArn string
	Workers                   []Worker
	KongAdminURL              string
	RedisURL                  string
	AdminToken                string
	EncryptionKey             string
	PostgrestImageURI         string
	TenantLambdaRoleARN       string
	SubnetIDs                 []string
	SecurityGroupIDs          []string
	LambdaMemoryMiB           int
	LambdaTimeoutSec          int
	ConfigServiceURL          string
	GatewayRoleARN            string
	STSEndpoint               string
	Region                    string
	Timeouts                  Timeouts
	// SQL bounds the SQL endpoints of the management API.
	SQL SQL
	// Functions makes the projects' edge functions Lambdas.
	Functions Functions
	// Fleet configures the tenant function reconciler.
	Fleet Fleet
	// Env is the getenv Load read; the variables other packages parse
	// themselves (JWT rotation, alarms, tenant guards) are read through
	// Getenv, so a Config carries its whole environment.
	Env func(string) string
}

// Getenv reads a variable from the environment the Config was loaded from
// (the process's when it was not made by Load).
func (c *Config) Getenv(name string) string {
	if c.Env == nil {
		return os.Getenv(name)
	}
	return c.Env(name)
}

// Timeouts bound every wait: the HTTP servers' reads and writes and each
// outbound call, so a slow or silent peer cannot pin a request forever.
type Timeouts struct {
	// HTTP servers (both listeners).
	ReadHeader, Read, Write, Idle time.Duration
	// Provision bounds a create request's steps; the undo of a failed create
	// has its own 2 minutes, so Write must exceed Provision by more.
	Provision time.Duration
	// LambdaActive bounds the wait for a new function to become Active.
	LambdaActive time.Duration
	// Kong is per Admin API request, STS per identity check, AWS per AWS
	// SDK HTTP attempt (Lambda, Secrets Manager).
	Kong, STS, AWS time.Duration
	// RedisDial is the connect timeout, RedisIO each read and write.
	RedisDial, RedisIO time.Duration
}

// undoBudget is what a failed create may still spend undoing its steps and
// answering, after its own deadline.
const undoBudget = 2*time.Minute + 30*time.Second

// timeoutVars are the duration variables (Go syntax, e.g. "30s", "5m")
// with their defaults and bounds.
var timeoutVars = []struct {
	name   string
	def    time.Duration
	lo, hi time.Duration
	field  func(*Timeouts) *time.Duration
}{
	{"HTTP_READ_HEADER_TIMEOUT", 10 * time.Second, 100 * time.Millisecond, time.Minute, func(t *Timeouts) *time.Duration { return &t.ReadHeader }},
	{"HTTP_READ_TIMEOUT", 30 * time.Second, 100 * time.Millisecond, 10 * time.Minute, func(t *Timeouts) *time.Duration { return &t.Read }},
	{"HTTP_WRITE_TIMEOUT", 10 * time.Minute, 100 * time.Millisecond, time.Hour, func(t *Timeouts) *time.Duration { return &t.Write }},
	{"HTTP_IDLE_TIMEOUT", 2 * time.Minute, 100 * time.Millisecond, time.Hour, func(t *Timeouts) *time.Duration { return &t.Idle }},
	{"PROVISION_TIMEOUT", 7 * time.Minute, 100 * time.Millisecond, time.Hour, func(t *Timeouts) *time.Duration { return &t.Provision }},
	{"LAMBDA_ACTIVE_TIMEOUT", 5 * time.Minute, 100 * time.Millisecond, time.Hour, func(t *Timeouts) *time.Duration { return &t.LambdaActive }},
	{"KONG_ADMIN_TIMEOUT", 10 * time.Second, 10 * time.Millisecond, 5 * time.Minute, func(t *Timeouts) *time.Duration { return &t.Kong }},
	{"STS_TIMEOUT", 10 * time.Second, 10 * time.Millisecond, 5 * time.Minute, func(t *Timeouts) *time.Duration { return &t.STS }},
	{"AWS_CALL_TIMEOUT", 30 * time.Second, 10 * time.Millisecond, 5 * time.Minute, func(t *Timeouts) *time.Duration { return &t.AWS }},
	{"REDIS_DIAL_TIMEOUT", 5 * time.Second, 10 * time.Millisecond, time.Minute, func(t *Timeouts) *time.Duration { return &t.RedisDial }},
	{"REDIS_IO_TIMEOUT", 3 * time.Second, 10 * time.Millisecond, time.Minute, func(t *Timeouts) *time.Duration { return &t.RedisIO }},
}

var (
	workerIDRe = regexp.MustCompile(`^[a-z]([a-z0-9]|-[a-z0-9]){0,62}$`)
	roleARNRe  = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/.+$`)
)

// Load reads the configuration through getenv.
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{ListenAddr: getenv("LISTEN_ADDR"), InternalListenAddr: getenv("INTERNAL_LISTEN_ADDR")}
	c.Env = getenv
	if c.ListenAddr == "" {
		c.ListenAddr = ":8080"
	}
	if c.InternalListenAddr == "" {
		c.InternalListenAddr = ":8081"
	}
	var err error
	if c.InternalListenAddr == c.ListenAddr {
		err = fmt.Errorf("INTERNAL_LISTEN_ADDR: must differ from LISTEN_ADDR (%s): the configuration endpoints must not be served on the public listener", c.ListenAddr)
	}
	req := func(name string) string {
		v := getenv(name)
		if v == "" && err == nil {
			err = fmt.Errorf("%s: must be set", name)
		}
		return v
	}
	urlVar := func(name string, schemes ...string) string {
		v := req(name)
		if err != nil {
			return v
		}
		u, perr := url.Parse(v)
		if perr != nil || u.Host == "" || !contains(schemes, u.Scheme) {
			err = fmt.Errorf("%s: must be a %s URL", name, strings.Join(schemes, " or "))
		}
		return v
	}
	intVar := func(name string, lo, hi int) int {
		v := req(name)
		if err != nil {
			return 0
		}
		n, perr := strconv.Atoi(v)
		if perr != nil || n < lo || n > hi {
			err = fmt.Errorf("%s: must be a whole number %d..%d, got %q", name, lo, hi, v)
		}
		return n
	}
	list := func(name string) []string {
		v := req(name)
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		if len(out) == 0 && err == nil {
			err = fmt.Errorf("%s: must be a comma-separated list", name)
		}
		return out
	}
	roleVar := func(name string) string {
		v := req(name)
		if err == nil && !roleARNRe.MatchString(v) {
			err = fmt.Errorf("%s: must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)", name)
		}
		return v
	}

	c.PlatformDatabaseURL = urlVar("PLATFORM_DATABASE_URL", "postgres", "postgresql")
	c.PlatformDatabaseSecretArn = getenv("PLATFORM_DATABASE_SECRET_ARN")
	workersJSON := req("WORKERS")
	if err == nil {
		if jerr := json.Unmarshal([]byte(workersJSON), &c.Workers); jerr != nil || len(c.Workers) == 0 {
			err = fmt.Errorf(`WORKERS: must be a JSON list of {"id", "host", "port", "user", "password" or "secretArn", "sslmode", "maxTenants"}`)
		}
	}
	seen := map[string]bool{}
	for i, w := range c.Workers {
		if err != nil {
			break
		}
		switch {
		case !workerIDRe.MatchString(w.ID) || seen[w.ID]:
			err = fmt.Errorf("WORKERS[%d].id: %q must be a unique DNS label", i, w.ID)
		case w.Host == "":
			err = fmt.Errorf("WORKERS[%d].host: must be set", i)
		case w.Password == "" && w.SecretArn == "":
			err = fmt.Errorf("WORKERS[%d]: needs password or secretArn", i)
		case w.MaxTenants < 1:
			err = fmt.Errorf("WORKERS[%d].maxTenants: must be at least 1", i)
		}
		seen[w.ID] = true
		if c.Workers[i].Port == 0 {
			c.Workers[i].Port = 5432
		}
		if c.Workers[i].SSLMode == "" {
			c.Workers[i].SSLMode = "require"
		}
	}
	// Passwords may come separately (ECS injects secrets as whole values,
	// so a URL cannot embed one).
	if pw := getenv("PLATFORM_DATABASE_PASSWORD"); pw != "" && err == nil {
		c.PlatformDatabaseURL = withCredentials(c.PlatformDatabaseURL, getenv("PLATFORM_DATABASE_USER"), pw)
	}
	c.KongAdminURL = urlVar("KONG_ADMIN_URL", "http", "https")
	c.RedisURL = urlVar("REDIS_URL", "redis", "rediss")
	if pw := getenv("REDIS_PASSWORD"); pw != "" && err == nil {
		c.RedisURL = withCredentials(c.RedisURL, "", pw)
	}
	c.AdminToken = req("ADMIN_TOKEN")
	if err == nil && len(c.AdminToken) < 32 {
		err = fmt.Errorf("ADMIN_TOKEN: must be at least 32 characters")
	}
	c.EncryptionKey = req("ENCRYPTION_KEY")
	c.PostgrestImageURI = req("POSTGREST_IMAGE_URI")
	c.TenantLambdaRoleARN = roleVar("TENANT_LAMBDA_ROLE_ARN")
	c.SubnetIDs = list("TENANT_LAMBDA_SUBNET_IDS")
	c.SecurityGroupIDs = list("TENANT_LAMBDA_SECURITY_GROUP_IDS")
	c.LambdaMemoryMiB = intVar("TENANT_LAMBDA_MEMORY_MIB", 128, 10240)
	c.LambdaTimeoutSec = intVar("TENANT_LAMBDA_TIMEOUT_SECONDS", 1, 900)
	c.ConfigServiceURL = urlVar("CONFIG_SERVICE_URL", "http", "https")
	c.GatewayRoleARN = roleVar("GATEWAY_ROLE_ARN")
	c.STSEndpoint = urlVar("STS_ENDPOINT", "http", "https")
	c.Region = req("AWS_REGION")
	for _, tv := range timeoutVars {
		d := tv.def
		if v := getenv(tv.name); v != "" && err == nil {
			pd, perr := time.ParseDuration(v)
			if perr != nil || pd < tv.lo || pd > tv.hi {
				err = fmt.Errorf("%s: must be a duration from %s to %s (e.g. %q), got %q", tv.name, tv.lo, tv.hi, tv.def.String(), v)
			}
			d = pd
		}
		*tv.field(&c.Timeouts) = d
	}
	if t := c.Timeouts; err == nil && t.Provision <= t.LambdaActive {
		err = fmt.Errorf("PROVISION_TIMEOUT: must be longer than LAMBDA_ACTIVE_TIMEOUT (%s), since a create waits that long for its function", t.LambdaActive)
	}
	if t := c.Timeouts; err == nil && t.Write < t.Provision+undoBudget {
		err = fmt.Errorf("HTTP_WRITE_TIMEOUT: must be at least PROVISION_TIMEOUT + %s (%s), so a failed create can be undone and answered", undoBudget, t.Provision+undoBudget)
	}
	if err == nil {
		c.SQL, err = loadSQL(getenv, c.Timeouts.Write)
	}
	if err == nil {
		c.Functions, err = loadFunctions(getenv)
	}
	if err == nil {
		c.Fleet, err = loadFleet(getenv)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// withCredentials sets the password (and, when given, the user) of a URL.
func withCredentials(raw, user, password string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if user == "" && u.User != nil {
		user = u.User.Username()
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
