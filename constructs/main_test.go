package platform

import (
	"os"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

// TestMain closes the package's one jsii node process once every test has
// run; jsii is not thread-safe, so no test here runs in parallel.
func TestMain(m *testing.M) {
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}
