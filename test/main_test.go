// Package test holds the snapshot and assertion tests of the synthesized
// SupabaseStack template. Each configuration is synthesized at most once per
// test binary, and not at all when its inputs are those of a cached assembly,
// and shared across tests (jsii runs one node process per binary and is not
// thread-safe, so nothing here runs in parallel).
package test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/config"
	"github.com/supabase-on-aws/supabase-on-aws/internal/synthinputs"
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

// synthesized is one configuration's synthesized stack.
type synthesized struct {
	cfg      config.Config
	template assertions.Template
	// json is the template as generic JSON, for tests that walk it.
	json map[string]any
	// messages are the stack's annotations (cdk-nag's findings among them),
	// account and region its environment, as the cloud assembly records them.
	messages        []message
	account, region string
}

// message is one annotation of the synthesized stack.
type message struct {
	Level string `json:"level"` // "error", "warning" or "info"
	Path  string `json:"path"`
	Data  string `json:"data"`
}

// assembly is what a synth leaves for the tests, and what the cache keeps.
type assembly struct {
	Template map[string]any `json:"template"`
	Messages []message      `json:"messages"`
	Account  string         `json:"account"`
	Region   string         `json:"region"`
}

var (
	cache = map[string]*synthesized{}
	// outdir is the cloud assembly directory of every synthesized app.
	outdir string
)

// synth builds the stack for a config file under the repository root or
// test/testdata (with cdk-nag's AwsSolutions pack applied, as the README's
// test command promises), synthesizes it (CDK's built-in CloudFormation rules
// run then and fail the synth on an error) and keeps it by name.
//
// A synthesized assembly is also kept on disk, under .cache/template-test,
// keyed by everything it is built from (inputsKey): a later run with the
// same inputs reads it instead of synthesizing again.
func synth(t *testing.T, path string) *synthesized {
	t.Helper()
	if s, ok := cache[path]; ok {
		return s
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	file := cachedAssemblyFile(t, path)
	var a assembly
	if data, err := os.ReadFile(file); err == nil && json.Unmarshal(data, &a) == nil && a.Template != nil {
		t.Logf("%s: synthesized assembly from %s (same inputs)", path, file)
		now := time.Now()
		_ = os.Chtimes(file, now, now) // most recently used: kept longest
	} else {
		a = synthAssembly(t, cfg)
		data, err := json.Marshal(a)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
		tmp := fmt.Sprintf("%s.%d", file, os.Getpid())
		require.NoError(t, os.WriteFile(tmp, data, 0o644))
		require.NoError(t, os.Rename(tmp, file))
		pruneCache(filepath.Dir(file), 30)
	}
	s := &synthesized{
		cfg:      cfg,
		template: assertions.Template_FromJSON(&a.Template, nil),
		json:     a.Template,
		messages: a.Messages,
		account:  a.Account,
		region:   a.Region,
	}
	cache[path] = s
	return s
}

func synthAssembly(t *testing.T, cfg config.Config) assembly {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &map[string]any{"aws:cdk:bundling-stacks": []string{}},
		Outdir:  jsii.String(outdir),
	})
	stack := stacks.NewSupabaseStack(app, stacks.StackID, &stacks.SupabaseStackProps{Config: cfg, ServicesDir: "../services"})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true), Reports: jsii.Bool(false)}), nil)
	artifact := app.Synth(nil).GetStackArtifact(stack.Stack.ArtifactId())
	raw, err := json.Marshal(artifact.Template())
	require.NoError(t, err)
	a := assembly{Account: *artifact.Environment().Account, Region: *artifact.Environment().Region}
	require.NoError(t, json.Unmarshal(raw, &a.Template))
	for _, m := range *artifact.Messages() {
		data, ok := m.Entry.Data.(string)
		if !ok {
			b, err := json.Marshal(m.Entry.Data)
			require.NoError(t, err)
			data = string(b)
		}
		a.Messages = append(a.Messages, message{Level: strings.ToLower(string(m.Level)), Path: *m.Id, Data: data})
	}
	return a
}

// findings are the messages of a level whose text matches pattern.
func (s *synthesized) findings(level string, pattern *regexp.Regexp) []string {
	var out []string
	for _, m := range s.messages {
		if m.Level == level && pattern.MatchString(m.Data) {
			out = append(out, m.Path+": "+m.Data)
		}
	}
	return out
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

// cachedAssemblyFile is where the assembly of a config file is kept for the
// current inputs.
func cachedAssemblyFile(t *testing.T, path string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(inputsKey(t) + "\x00" + path))
	return filepath.Join("..", ".cache", "template-test", hex.EncodeToString(sum[:16])+".json")
}

var inputs string

// inputsKey hashes what a synthesized template is built from (the files
// synthinputs.IsTemplateInput names) and CDK_VALIDATION, which decides
// whether CDK's rules ran.
func inputsKey(t *testing.T) string {
	t.Helper()
	if inputs != "" {
		return inputs
	}
	key, err := synthinputs.Key("..", synthinputs.IsTemplateInput, "CDK_VALIDATION="+os.Getenv("CDK_VALIDATION"))
	require.NoError(t, err)
	inputs = key
	return inputs
}

// pruneCache keeps the keep most recently used files of dir.
func pruneCache(dir string, keep int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type file struct {
		path string
		used time.Time
	}
	var files []file
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			files = append(files, file{filepath.Join(dir, e.Name()), info.ModTime()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].used.After(files[j].used) })
	for _, f := range files[min(keep, len(files)):] {
		os.Remove(f.path)
	}
}

func TestTemplateInputs(t *testing.T) {
	for path, input := range map[string]bool{
		"constructs/kong.go":               true,
		"stacks/supabase_stack.go":         true,
		"config.json":                      true,
		"go.sum":                           true,
		"test/main_test.go":                true,
		"test/testdata/three-workers.json": true,
		"services/tenant-manager/internal/app/app_test.go": true,
		"services/kong/README.md":                          true,
		"constructs/kong_test.go":                          false,
		"test/stack_test.go":                               false,
		"test/testdata/snapshot-domain.template.json":      false,
		"README.md":          false,
		"docs/operations.md": false,
		"scripts/synth.sh":   false,
	} {
		require.Equal(t, input, synthinputs.IsTemplateInput(path), path)
	}
}
