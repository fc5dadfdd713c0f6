package scripts

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// costScript runs scripts/cost.sh on a checked-in snapshot template (no
// synth), so the test checks the script's options, not CDK.
func costScript(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("./cost.sh", args...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

func lastTotalLine(out string) string {
	last := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(strings.ToLower(l), "total") {
			last = l
		}
	}
	return last
}

func TestCostScriptReadsTheConfigOption(t *testing.T) {
	def := costScript(t, "--template", "test/testdata/snapshot-no-domain.template.json")
	require.Regexp(t, `^Monthly total \(USD\): [0-9]+\.[0-9]{2}$`, lastTotalLine(def))
	require.NotContains(t, def, "Route 53 hosted zone")
	require.NotContains(t, def, "NOT PRICED")

	// -c config=PATH, as scripts/synth.sh takes it, selects the config the
	// estimate reads: the domain config's hosted zone is priced.
	dom := costScript(t, "-c", "config=test/testdata/domain.json", "--template", "test/testdata/snapshot-domain.template.json")
	require.Contains(t, dom, "domain.hostedZoneId Z0123456789ABCDEFGHIJ")
	require.Contains(t, dom, "Monthly estimate of SupabaseDomain in us-east-1")
	require.NotContains(t, dom, "NOT PRICED")
}
