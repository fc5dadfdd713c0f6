package platform

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The rule refuses every bootstrap version below the minimum, and only
// those.
func TestRequireBootstrapVersion(t *testing.T) {
	stack := newStack(t)
	nonEmpty(stack)
	RequireBootstrapVersion(stack, 5)
	x := synth(t, stack)
	rules := x.json["Rules"].(map[string]any)
	rule, ok := rules["CheckBootstrapVersionForTenantFunctions"].(map[string]any)
	require.True(t, ok, "rule present: %s", toJSON(rules))
	asserts := rule["Assertions"].([]any)
	require.Len(t, asserts, 1)
	a := asserts[0].(map[string]any)
	require.JSONEq(t, `{"Fn::Not":[{"Fn::Contains":[["1","2","3","4"],{"Ref":"BootstrapVersion"}]}]}`, toJSON(a["Assert"]))
	require.Contains(t, a["AssertDescription"], "bootstrap version 5 or later")
	require.Contains(t, a["AssertDescription"], "cdk bootstrap")
	// It reads the parameter the default synthesizer declares.
	try(t, func() {
		x.HasParameter(strPtr("BootstrapVersion"), map[string]any{"Type": "AWS::SSM::Parameter::Value<String>"})
	})
}
