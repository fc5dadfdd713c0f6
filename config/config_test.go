package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfigFile(t *testing.T) {
	cfg, err := Load("../config.json")
	require.NoError(t, err)
	def := Default()
	def.Schema = "./config.schema.json"
	def.AdminCidrs = []string{"203.0.113.0/24"}
	require.Equal(t, def, cfg, "config.json states the defaults of the original design")
	require.False(t, cfg.HasDomain())
}

// minimal is the smallest valid config: everything else is defaulted.
const minimal = `{"adminCidrs": ["198.51.100.0/24"]}`

func TestDefaultsFillWhatIsOmitted(t *testing.T) {
	cfg, err := Parse("c.json", []byte(`{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": [{"id": "w1"}, {"id": "w2", "maxTenants": 3}]}}`))
	require.NoError(t, err)
	require.Len(t, cfg.Database.Workers, 2)
	require.Equal(t, "db.t3.micro", cfg.Database.Workers[1].InstanceClass, "worker defaults apply to each entry")
	require.Equal(t, 3, cfg.Database.Workers[1].MaxTenants)
	require.Equal(t, 20, cfg.Database.Workers[0].MaxTenants)
	require.Equal(t, 512, cfg.Services.Kong.CPU)
	require.Equal(t, "16.13", cfg.Database.EngineVersion)
}

func TestInvalidConfigs(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       []string
	}{
		{"duplicate worker", `{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": [{"id": "supabase-worker-01"}, {"id": "supabase-worker-01"}]}}`,
			[]string{`c.json: database.workers[1].id: duplicate "supabase-worker-01" (also database.workers[0].id)`}},
		{"studio cognito without a domain", `{"adminCidrs": ["198.51.100.0/24"], "studioAuth": "cognito"}`,
			[]string{`c.json: studioAuth: "cognito" needs a domain: load balancers authenticate only on HTTPS listeners; set "domain", or use "basic"`}},
		{"studio auth mode", `{"adminCidrs": ["198.51.100.0/24"], "studioAuth": "none"}`,
			[]string{`c.json: studioAuth: "none" is not a Studio authentication mode (auto, cognito, basic)`}},
		{"too few AZs", `{"adminCidrs": ["198.51.100.0/24"], "network": {"maxAzs": 1}}`,
			[]string{"c.json: network.maxAzs: must be 2..6, got 1"}},
		{"fargate cpu", `{"adminCidrs": ["198.51.100.0/24"], "services": {"kong": {"cpu": 300}}}`,
			[]string{"c.json: services.kong.cpu: 300 is not a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192, 16384)"}},
		{"fargate memory for cpu", `{"adminCidrs": ["198.51.100.0/24"], "services": {"studio": {"cpu": 256, "memoryMiB": 4096}}}`,
			[]string{"c.json: services.studio.memoryMiB: 4096 MiB is not a Fargate memory size for cpu 256 (512, 1024, 2048)"}},
		{"fargate memory range", `{"adminCidrs": ["198.51.100.0/24"], "services": {"postgresMeta": {"cpu": 1024, "memoryMiB": 1024}}}`,
			[]string{"c.json: services.postgresMeta.memoryMiB: 1024 MiB is not a Fargate memory size for cpu 1024 (2048..8192 in steps of 1024)"}},
		{"cidr syntax", `{"adminCidrs": ["198.51.100.0/24"], "network": {"cidr": "10.0.0.0/33"}}`,
			[]string{`c.json: network.cidr: "10.0.0.0/33" is not an IPv4 CIDR (e.g. 10.0.0.0/16)`}},
		{"cidr host bits", `{"adminCidrs": ["198.51.100.7/24"]}`,
			[]string{`c.json: adminCidrs[0]: "198.51.100.7/24" has host bits set; did you mean "198.51.100.0/24"?`}},
		{"cidr too small", `{"adminCidrs": ["198.51.100.0/24"], "network": {"cidr": "10.0.0.0/23"}}`,
			[]string{"c.json: network.cidr: prefix must be /16../22 (a VPC holds three /24 subnets per AZ), got /23"}},
		{"worker id not a DNS label", `{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": [{"id": "Worker_1"}]}}`,
			[]string{`c.json: database.workers[0].id: "Worker_1" must be a DNS label`}},
		{"nat more than azs", `{"adminCidrs": ["198.51.100.0/24"], "network": {"natGateways": 3}}`,
			[]string{"c.json: network.natGateways: 3 is more than network.maxAzs (2): at most one NAT gateway per AZ"}},
		{"partial domain", `{"adminCidrs": ["198.51.100.0/24"], "domain": {"name": "example.com"}}`,
			[]string{`c.json: domain: missing hostedZoneId, hostedZoneName: a domain needs name, hostedZoneId and hostedZoneName`}},
		{"domain outside zone", `{"adminCidrs": ["198.51.100.0/24"], "domain": {"name": "api.example.org", "hostedZoneId": "Z123ABC", "hostedZoneName": "example.com"}}`,
			[]string{`c.json: domain.hostedZoneName: "example.com" does not contain domain.name "api.example.org"`}},
		{"unknown key", `{"adminCidrs": ["198.51.100.0/24"], "network": {"maxAZs": 3}}`,
			[]string{"c.json: network.maxAZs: unknown key (allowed here: availabilityZones, cidr, flowLogs, maxAzs, natGateways)"}},
		{"unknown key in array", `{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": [{"id": "w1", "maxTenant": 5}]}}`,
			[]string{"c.json: database.workers[0].maxTenant: unknown key"}},
		{"wrong type", `{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": [{"id": "w1", "maxTenants": "5"}]}}`,
			[]string{`c.json: database.workers[0].maxTenants: must be a whole number, got string "5"`}},
		{"fraction", `{"adminCidrs": ["198.51.100.0/24"], "tenantLambda": {"memoryMiB": 512.5}}`,
			[]string{"c.json: tenantLambda.memoryMiB: must be a whole number, got 512.5"}},
		{"no admin cidrs", `{}`,
			[]string{"c.json: adminCidrs: must list at least one CIDR"}},
		{"no workers", `{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": []}}`,
			[]string{"c.json: database.workers: must list at least one worker instance"}},
		{"log retention", `{"adminCidrs": ["198.51.100.0/24"], "logs": {"retentionDays": 10}}`,
			[]string{"c.json: logs.retentionDays: 10 is not a CloudWatch Logs retention (1, 3, 5, 7, 14, 30,"}},
		{"engine version", `{"adminCidrs": ["198.51.100.0/24"], "database": {"engineVersion": "12.1"}}`,
			[]string{`c.json: database.engineVersion: "12.1" is not a supported PostgreSQL version`}},
		{"account without AZs", `{"adminCidrs": ["198.51.100.0/24"], "env": {"account": "123456789012", "region": "us-east-1"}}`,
			[]string{`c.json: network.availabilityZones: must name the 2 AZs when env.account is set`}},
		{"no region", `{"adminCidrs": ["198.51.100.0/24"], "env": {"region": ""}}`,
			[]string{`c.json: env.region: "" is not an AWS region name (e.g. us-east-1)`}},
		{"AZ of another region", `{"adminCidrs": ["198.51.100.0/24"], "env": {"region": "us-east-1"}, "network": {"maxAzs": 2, "availabilityZones": ["us-east-1a", "eu-west-1b"]}}`,
			[]string{`c.json: network.availabilityZones[1]: "eu-west-1b" is not an AZ of env.region "us-east-1"`}},
		{"bad account", `{"adminCidrs": ["198.51.100.0/24"], "env": {"account": "12345", "region": "us-east-1"}, "network": {"availabilityZones": ["us-east-1a", "us-east-1b"]}}`,
			[]string{`c.json: env.account: must be a 12-digit AWS account id, got "12345"`}},
		{"min above desired", `{"adminCidrs": ["198.51.100.0/24"], "services": {"kong": {"desiredCount": 2, "minCount": 3}}}`,
			[]string{"c.json: services.kong.minCount: 3 is more than desiredCount (2)"}},
		{"unpinned image", `{"adminCidrs": ["198.51.100.0/24"], "services": {"kong": {"image": "kong"}}}`,
			[]string{`c.json: services.kong.image: "kong" is not a pinned image URI`}},
		{"transit encryption off", `{"adminCidrs": ["198.51.100.0/24"], "cache": {"transitEncryption": false}}`,
			[]string{"c.json: cache.transitEncryption: must be true"}},
		{"several problems at once", `{"adminCidrs": ["198.51.100.0/24"], "network": {"maxAzs": 9}, "gateway": {"jwtTtlSeconds": 0}}`,
			[]string{"c.json: network.maxAzs: must be 2..6, got 9", "c.json: gateway.jwtTtlSeconds: must be 30..3600, got 0"}},
		{"unknown key suggestion", `{"adminCidrs": ["198.51.100.0/24"], "network": {"natGateway": 1}}`,
			[]string{`c.json: network.natGateway: unknown key (allowed here: availabilityZones, cidr, flowLogs, maxAzs, natGateways); did you mean "natGateways"?`}},
		{"storage above the RDS maximum", `{"adminCidrs": ["198.51.100.0/24"], "database": {"primary": {"maxAllocatedStorageGiB": 70000}}}`,
			[]string{"c.json: database.primary.maxAllocatedStorageGiB: must be 0..65536, got 70000"}},
		{"memory outside Fargate's range", `{"adminCidrs": ["198.51.100.0/24"], "services": {"kong": {"memoryMiB": 256}}}`,
			[]string{"c.json: services.kong.memoryMiB: must be 512..122880, got 256\nc.json: services.kong.memoryMiB: 256 MiB is not a Fargate memory size for cpu 512 (1024, 2048, 3072, 4096)"}},
		{"reserved tag key", `{"adminCidrs": ["198.51.100.0/24"], "tags": {"AWS:team": "x"}}`,
			[]string{`c.json: tags.AWS:team: tag keys may not start with "aws:" (reserved by AWS)`}},
		{"long tag value", `{"adminCidrs": ["198.51.100.0/24"], "tags": {"team": "` + strings.Repeat("é", 257) + `"}}`,
			[]string{"c.json: tags.team: tag values must be at most 256 characters, got 257"}},
		{"duplicate admin cidr", `{"adminCidrs": ["198.51.100.0/24", "2001:db8::/32", "198.51.100.0/24"]}`,
			[]string{`c.json: adminCidrs[2]: duplicate "198.51.100.0/24" (also adminCidrs[0])`}},
		{"duplicate AZ", `{"adminCidrs": ["198.51.100.0/24"], "network": {"availabilityZones": ["us-east-1a", "us-east-1a"]}}`,
			[]string{`c.json: network.availabilityZones[1]: duplicate "us-east-1a" (also network.availabilityZones[0])`}},
		{"worker without id", `{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": [{"maxTenants": 5}]}}`,
			[]string{`c.json: database.workers[0].id: missing: every worker needs an id`}},
		{"domain of the wrong type", `{"adminCidrs": ["198.51.100.0/24"], "domain": "example.com"}`,
			[]string{`c.json: domain: must be null or an object, got string "example.com"`}},
		{"domain name", `{"adminCidrs": ["198.51.100.0/24"], "domain": {"name": "Example.com", "hostedZoneId": "Z123ABC", "hostedZoneName": "example.com"}}`,
			[]string{`c.json: domain.name: "Example.com" is not a DNS name`}},
		{"no NAT gateway", `{"adminCidrs": ["198.51.100.0/24"], "network": {"natGateways": 0}}`,
			[]string{"c.json: network.natGateways: must be at least 1 (private subnets need egress to pull images and call AWS APIs), got 0"}},
		{"null count", `{"adminCidrs": ["198.51.100.0/24"], "services": {"kong": {"minCount": null}}}`,
			[]string{"c.json: services.kong.minCount: must be a whole number, got null"}},
		{"whole number with a fraction part", `{"adminCidrs": ["198.51.100.0/24"], "tenantLambda": {"memoryMiB": 512.0}}`,
			[]string{"c.json: tenantLambda.memoryMiB: must be a whole number written without a fraction or exponent, got 512.0"}},
		{"email", `{"adminCidrs": ["198.51.100.0/24"], "alarms": {"email": "ops"}}`,
			[]string{`c.json: alarms.email: "ops" is not an email address`}},
		{"region", `{"adminCidrs": ["198.51.100.0/24"], "env": {"region": "mars-1"}}`,
			[]string{`c.json: env.region: "mars-1" is not an AWS region name (e.g. us-east-1)`}},
		{"syntax error", "{\n  \"adminCidrs\": [\"198.51.100.0/24\",]\n}",
			[]string{"c.json: invalid JSON at line 2, column"}},
		{"not an object", `[]`,
			[]string{"c.json: must be an object, got an array"}},
		{"empty file", ``,
			[]string{"c.json: file is empty"}},
		{"connection budget of a worker", `{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": [{"id": "w1"}, {"id": "w2", "maxTenants": 50}]}}`,
			[]string{"c.json: database.workers[1].maxTenants: 50 tenants x tenantDatabase.connectionLimit 4 + tenantDatabase.reservedConnections 20 = 220 connections, more than the 112 max_connections of db.t3.micro: one busy tenant per slot could exhaust the worker; lower maxTenants to 23, or lower tenantDatabase.connectionLimit to 1, or choose a larger instanceClass"}},
		{"connection limit beyond any tenant count", `{"adminCidrs": ["198.51.100.0/24"], "tenantDatabase": {"connectionLimit": 100}}`,
			[]string{"c.json: database.workers[0].maxTenants: 20 tenants x tenantDatabase.connectionLimit 100 + tenantDatabase.reservedConnections 20 = 2020 connections, more than the 112 max_connections of db.t3.micro: one busy tenant per slot could exhaust the worker; lower tenantDatabase.connectionLimit to 4, or choose a larger instanceClass"}},
		{"unknown instance class needs maxConnections", `{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": [{"id": "w1", "instanceClass": "db.x2g.large"}]}}`,
			[]string{"c.json: database.workers[0].instanceClass: cannot tell the max_connections of db.x2g.large for the connection budget: set database.workers[0].maxConnections"}},
		{"reserved concurrency over the account", `{"adminCidrs": ["198.51.100.0/24"], "tenantLambda": {"reservedConcurrency": 50}}`,
			[]string{"c.json: tenantLambda.reservedConcurrency: 20 tenants (all workers' maxTenants) x (tenantLambda.reservedConcurrency 50 + edgeFunctions.reservedConcurrency 5) = 1100 reserved, more than tenantLambda.accountConcurrency 1000 - 100 that Lambda keeps unreserved = 900: lower it to at most 45 per tenant, or raise the account's quota and accountConcurrency"}},
		{"reserved concurrency of both functions over the account", `{"adminCidrs": ["198.51.100.0/24"], "tenantLambda": {"reservedConcurrency": 30}, "edgeFunctions": {"reservedConcurrency": 20}}`,
			[]string{"c.json: tenantLambda.reservedConcurrency: 20 tenants (all workers' maxTenants) x (tenantLambda.reservedConcurrency 30 + edgeFunctions.reservedConcurrency 20) = 1000 reserved"}},
		{"log group policy", `{"adminCidrs": ["198.51.100.0/24"], "tenantLambda": {"logGroupOnDelete": "keep"}}`,
			[]string{`c.json: tenantLambda.logGroupOnDelete: "keep" is not a log group policy (delete, retain)`}},
		{"tenant alarm kind", `{"adminCidrs": ["198.51.100.0/24"], "alarms": {"tenant": {"kinds": ["lambda-errors", "cpu"]}}}`,
			[]string{"c.json: alarms.tenant.kinds[1]: \"cpu\" is not a tenant alarm (gateway-5xx, lambda-errors, lambda-throttles, lambda-duration)"}},
		{"tenant alarm duration ratio", `{"adminCidrs": ["198.51.100.0/24"], "alarms": {"tenant": {"lambdaDurationRatio": 1.5}}}`,
			[]string{"c.json: alarms.tenant.lambdaDurationRatio: "}},
		{"rate limit burst", `{"adminCidrs": ["198.51.100.0/24"], "gateway": {"rateLimit": {"rps": 10, "burst": 0}}}`,
			[]string{"c.json: gateway.rateLimit.burst: must be"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.json", []byte(tc.json))
			require.Error(t, err)
			var ce *Error
			require.True(t, errors.As(err, &ce), "a config error, not %T", err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

// A cross-field rule stays quiet about a value the schema already rejected,
// while the other problems are still all reported.
func TestCrossFieldRulesSkipRejectedValues(t *testing.T) {
	_, err := Parse("c.json", []byte(`{"adminCidrs": ["198.51.100.7/24"], "network": {"maxAzs": 9, "natGateways": 7}, "services": {"kong": {"cpu": 300, "memoryMiB": 4096}, "studio": {"desiredCount": 0, "minCount": 1}}}`))
	require.Error(t, err)
	require.Equal(t, strings.Join([]string{
		`c.json: adminCidrs[0]: "198.51.100.7/24" has host bits set; did you mean "198.51.100.0/24"?`,
		"c.json: network.maxAzs: must be 2..6, got 9",
		"c.json: network.natGateways: must be 1..6, got 7",
		"c.json: services.kong.cpu: 300 is not a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192, 16384)",
		"c.json: services.studio.desiredCount: must be 1..100, got 0",
	}, "\n"), err.Error())
}

// Validate checks a config built in Go by the same schema and rules.
func TestValidateGoConfig(t *testing.T) {
	c := Default()
	c.AdminCidrs = []string{"198.51.100.0/24"}
	require.NoError(t, c.Validate())
	c.Tags = nil
	c.Network.MaxAzs = 7
	c.Services.Kong.MemoryMiB = 3000
	c.StudioAuth = StudioAuthCognito
	err := c.Validate()
	var ce *Error
	require.True(t, errors.As(err, &ce), "a config error, not %T", err)
	require.Equal(t, []Problem{
		{Path: "network.maxAzs", Message: "must be 2..6, got 7"},
		{Path: "services.kong.memoryMiB", Message: "3000 MiB is not a Fargate memory size for cpu 512 (1024, 2048, 3072, 4096)"},
		{Path: "studioAuth", Message: `"cognito" needs a domain: load balancers authenticate only on HTTPS listeners; set "domain", or use "basic"`},
	}, ce.Problems)
	c = Default()
	require.ErrorContains(t, c.Validate(), "config: adminCidrs: must list at least one CIDR")
}

func TestValidAlternatives(t *testing.T) {
	for name, js := range map[string]string{
		"minimal":      minimal,
		"ipv6 admin":   `{"adminCidrs": ["2001:db8::/32"]}`,
		"six AZs":      `{"adminCidrs": ["198.51.100.0/24"], "network": {"maxAzs": 6, "natGateways": 6}}`,
		"domain":       `{"adminCidrs": ["198.51.100.0/24"], "domain": {"name": "supabase.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ", "hostedZoneName": "example.com.", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}}`,
		"autoscaling":  `{"adminCidrs": ["198.51.100.0/24"], "services": {"kong": {"cpu": 1024, "memoryMiB": 2048, "desiredCount": 2, "minCount": 2, "maxCount": 10, "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/kong:3.9.1"}}}`,
		"pinned stack": `{"adminCidrs": ["198.51.100.0/24"], "env": {"account": "123456789012", "region": "ap-northeast-1"}, "network": {"availabilityZones": ["ap-northeast-1a", "ap-northeast-1c"]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("c.json", []byte(js))
			require.NoError(t, err)
		})
	}
}

// The JSON Schema for editors must describe exactly the keys Load accepts,
// and the default config.json must validate against it.
func TestSchemaMatchesStructs(t *testing.T) {
	raw, err := os.ReadFile("../config.schema.json")
	require.NoError(t, err)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(raw, &schema))
	defs, _ := schema["$defs"].(map[string]any)

	var compare func(path string, typ reflect.Type, node map[string]any)
	compare = func(path string, typ reflect.Type, node map[string]any) {
		if ref, ok := node["$ref"].(string); ok {
			node = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		switch typ.Kind() {
		case reflect.Struct:
			if anyOf, ok := node["anyOf"].([]any); ok { // nullable object
				for _, alt := range anyOf {
					if m := alt.(map[string]any); m["type"] != "null" {
						node = m
						if ref, ok := node["$ref"].(string); ok {
							node = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
						}
					}
				}
			}
			require.Equal(t, false, node["additionalProperties"], "%s: schema must reject unknown keys", path)
			properties, _ := node["properties"].(map[string]any)
			fields := jsonFields(typ)
			require.Equal(t, sortedKeys(fields), sortedMapKeys(properties), "%s: schema properties", path)
			for k, ft := range fields {
				compare(path+"."+k, ft, properties[k].(map[string]any))
			}
		case reflect.Slice:
			compare(path+"[]", typ.Elem(), node["items"].(map[string]any))
		}
	}
	compare("config", reflect.TypeOf(Config{}), schema)

	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	require.NoError(t, err)
	require.NoError(t, c.AddResource("config.schema.json", doc))
	sch, err := c.Compile("config.schema.json")
	require.NoError(t, err)
	for _, f := range []string{"../config.json", "../test/testdata/domain.json", "../test/testdata/three-workers.json"} {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
		require.NoError(t, err)
		require.NoError(t, sch.Validate(inst), f)
	}
	bad, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"network": {"maxAZs": 3}}`))
	require.NoError(t, err)
	require.Error(t, sch.Validate(bad), "the schema rejects unknown keys too")

	// A worker is an instance plus id and maxTenants: the copied properties
	// must not drift from $defs/instance.
	worker := defs["worker"].(map[string]any)["properties"].(map[string]any)
	for k, v := range defs["instance"].(map[string]any)["properties"].(map[string]any) {
		require.Equal(t, v, worker[k], "$defs/worker/properties/%s differs from $defs/instance", k)
	}
}

// Editors validate config.json with the repository's schema, the app with
// its embedded copy: they must be the same file.
func TestEmbeddedSchemaIsTheRepositoryOne(t *testing.T) {
	repo, err := os.ReadFile("../config.schema.json")
	require.NoError(t, err)
	require.True(t, bytes.Equal(repo, schemaJSON),
		"config/config.schema.json differs from config.schema.json: edit the root one and run `go generate ./config`")
}

// The per-field rules are the schema's alone, so an editor using only the
// schema flags the same values the app reports per field.
func TestSchemaAloneRejectsPerFieldProblems(t *testing.T) {
	raw, err := os.ReadFile("../config.schema.json")
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	require.NoError(t, err)
	require.NoError(t, c.AddResource("config.schema.json", doc))
	sch, err := c.Compile("config.schema.json")
	require.NoError(t, err)
	for _, js := range []string{
		`{}`,
		`{"adminCidrs": ["198.51.100.0/24", "198.51.100.0/24"]}`,
		`{"adminCidrs": ["198.51.100.0/24"], "env": {"region": "mars-1"}}`,
		`{"adminCidrs": ["198.51.100.0/24"], "tags": {"aws:x": "y"}}`,
		`{"adminCidrs": ["198.51.100.0/24"], "services": {"kong": {"image": "kong"}}}`,
		`{"adminCidrs": ["198.51.100.0/24"], "alarms": {"email": "ops"}}`,
		`{"adminCidrs": ["198.51.100.0/24"], "network": {"availabilityZones": ["us-east-1a", "us-east-1a"]}}`,
		`{"adminCidrs": ["198.51.100.0/24"], "domain": {"name": "Example.com", "hostedZoneId": "Z123", "hostedZoneName": "example.com"}}`,
		`{"adminCidrs": ["198.51.100.0/24"], "domain": {"name": "a.example.com", "hostedZoneId": "Z123", "hostedZoneName": "example.com", "certificateArn": "x"}}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(js))
		require.NoError(t, err)
		require.Error(t, sch.Validate(inst), js)
		_, err = Parse("c.json", []byte(js))
		require.Error(t, err, js)
	}
	// What the schema cannot see is the app's: an empty account is "unset".
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"adminCidrs": ["198.51.100.0/24"], "env": {"account": ""}}`))
	require.NoError(t, err)
	require.NoError(t, sch.Validate(inst))
}

// Every message in the schema belongs to a rule of the node it sits on, so a
// message cannot outlive its rule, and every pattern has a readable message
// instead of the regular expression.
func TestSchemaMessagesBelongToRules(t *testing.T) {
	var doc any
	require.NoError(t, json.Unmarshal(schemaJSON, &doc))
	patterns := 0
	var walk func(path string, n any, parentRequired []any, key string)
	walk = func(path string, n any, parentRequired []any, key string) {
		switch x := n.(type) {
		case map[string]any:
			msgs, _ := x["x-messages"].(map[string]any)
			// Inside "not", the message is the not's, on the parent.
			if _, ok := x["pattern"]; ok && !strings.HasSuffix(path, "/not") {
				patterns++
				_, has := msgs["pattern"]
				require.True(t, has, "%s: a pattern needs an x-messages entry", path)
			}
			for kw := range msgs {
				_, own := x[kw]
				required := kw == "required" && slices.Contains(parentRequired, any(key))
				require.True(t, own || required, "%s: x-messages.%s has no %s rule here", path, kw, kw)
			}
			req, _ := x["required"].([]any)
			for k, v := range x {
				if k == "properties" {
					for pk, pv := range v.(map[string]any) {
						walk(path+"/properties/"+pk, pv, req, pk)
					}
					continue
				}
				if k != "x-messages" {
					walk(path+"/"+k, v, nil, "")
				}
			}
		case []any:
			for i, v := range x {
				walk(fmt.Sprintf("%s/%d", path, i), v, nil, "")
			}
		}
	}
	walk("#", doc, nil, "")
	require.Greater(t, patterns, 10)
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonFields lists the JSON keys of a struct type, embedded structs
// flattened as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// A worker's own max_connections (set in its parameter group, or of a
// class the table lacks) replaces the class default in the budget.
func TestConnectionBudgetUsesMaxConnections(t *testing.T) {
	_, err := Parse("c.json", []byte(`{"adminCidrs": ["198.51.100.0/24"], "tenantLambda": {"reservedConcurrency": 5}, "database": {"workers": [{"id": "w1", "maxTenants": 50, "maxConnections": 220}, {"id": "w2", "instanceClass": "db.x2g.large", "maxConnections": 500}]}}`))
	require.NoError(t, err)
	_, err = Parse("c.json", []byte(`{"adminCidrs": ["198.51.100.0/24"], "database": {"workers": [{"id": "w1", "maxTenants": 50, "maxConnections": 219}]}}`))
	require.ErrorContains(t, err, "= 220 connections, more than the 219 max_connections")
	got, ok := DefaultMaxConnections("db.r6g.large")
	require.True(t, ok)
	require.Equal(t, 16*(1<<30)/9531392, got)
}
