// Package test holds the snapshot and assertion tests of the synthesized
// SupabaseStack template. Each configuration is synthesized once per test
// binary and shared across tests (jsii runs one node process per binary and
// is not thread-safe, so nothing here runs in parallel).
package test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/supabase-on-aws/supabase-on-aws/config"
	"github.com/supabase-on-aws/supabase-on-aws/stacks"
)

func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	dir, err := os.MkdirTemp("", "supabase-cdk-test-")
	if err != nil {
		panic(err)
	}
	outdir = dir
	code := m.Run()
	os.RemoveAll(dir)
	jsii.Close()
	os.Exit(code)
}

// synthesized is one configuration's stack and template.
type synthesized struct {
	cfg      config.Config
	stack    awscdk.Stack
	template assertions.Template
	// json is the template as generic JSON, for tests that walk it.
	json map[string]any
}

var (
	cache = map[string]*synthesized{}
	// outdir is the cloud assembly directory of every synthesized app.
	outdir string
)

// synth builds the stack for a config file under the repository root or
// test/testdata (with cdk-nag's AwsSolutions pack applied, as the README's
// test command promises) and caches it by name.
func synth(t *testing.T, path string) *synthesized {
	t.Helper()
	if s, ok := cache[path]; ok {
		return s
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &map[string]any{"aws:cdk:bundling-stacks": []string{}},
		Outdir:  jsii.String(outdir),
	})
	stack := stacks.NewSupabaseStack(app, stacks.StackID, &stacks.SupabaseStackProps{Config: cfg, ServicesDir: "../services"})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true), Reports: jsii.Bool(false)}), nil)
	tpl := assertions.Template_FromStack(stack.Stack, nil)
	raw, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	s := &synthesized{cfg: cfg, stack: stack.Stack, template: tpl, json: doc}
	cache[path] = s
	return s
}

const (
	defaultConfig = "../config.json"
	domainConfig  = "testdata/domain.json"
	bigConfig     = "testdata/three-workers.json"
)

// resources returns the template's resources of one type, by logical id.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.json["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}
