package platform

import (
	"os"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

// TestMain closes the package's one jsii node process once every test has
// run; jsii is not thread-safe, so no test here runs in parallel.
//
// CDK's built-in CloudFormation rules (the validation plugin every synth runs)
// are skipped here: the stack-level tests in test/ run them on whole stacks,
// which hold every construct, and they are most of a small stack's synth time.
func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	os.Setenv("CDK_VALIDATION", "false")
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}
