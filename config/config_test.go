package config

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
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
	require.Equal(t, 50, cfg.Database.Workers[0].MaxTenants)
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
		{"syntax error", "{\n  \"adminCidrs\": [\"198.51.100.0/24\",]\n}",
			[]string{"c.json: invalid JSON at line 2, column"}},
		{"not an object", `[]`,
			[]string{"c.json: must be an object, got an array"}},
		{"empty file", ``,
			[]string{"c.json: file is empty"}},
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
}

func sortedMapKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
