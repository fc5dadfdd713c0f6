package alarms

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func TestSettingsFromEnv(t *testing.T) {
	s, err := SettingsFromEnv(env(nil), 30)
	require.NoError(t, err)
	require.False(t, s.Enabled(), "no topic, no alarms")
	require.Equal(t, []string{Gateway5xx}, s.Kinds, "one alarm per project by default")
	require.Equal(t, Settings{Kinds: []string{Gateway5xx}, Gateway5xxThreshold: 10, ErrorsThreshold: 5, ThrottlesThreshold: 1,
		DurationRatio: 0.8, Namespace: "Supabase/Gateway", FunctionTimeoutSeconds: 30}, s)

	s, err = SettingsFromEnv(env(map[string]string{
		"ALARM_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:alarms", "TENANT_ALARMS": "lambda-errors, gateway-5xx,lambda-errors",
		"TENANT_ALARM_5XX_THRESHOLD": "50", "TENANT_ALARM_DURATION_RATIO": "0.5", "GATEWAY_METRICS_NAMESPACE": "Custom/Gw",
	}), 30)
	require.NoError(t, err)
	require.True(t, s.Enabled())
	require.Equal(t, []string{LambdaErrors, Gateway5xx}, s.Kinds)
	require.Equal(t, 50.0, s.Gateway5xxThreshold)
	require.Equal(t, 0.5, s.DurationRatio)
	require.Equal(t, "Custom/Gw", s.Namespace)

	s, err = SettingsFromEnv(env(map[string]string{"TENANT_ALARMS": "none"}), 30)
	require.NoError(t, err)
	require.Empty(t, s.Kinds)

	for name, vars := range map[string]map[string]string{
		"ALARM_TOPIC_ARN":                  {"ALARM_TOPIC_ARN": "arn:aws:sqs:eu-west-1:123456789012:q"},
		"TENANT_ALARMS":                    {"TENANT_ALARMS": "gateway-5xx,cpu"},
		"TENANT_ALARM_5XX_THRESHOLD":       {"TENANT_ALARM_5XX_THRESHOLD": "0"},
		"TENANT_ALARM_ERRORS_THRESHOLD":    {"TENANT_ALARM_ERRORS_THRESHOLD": "many"},
		"TENANT_ALARM_THROTTLES_THRESHOLD": {"TENANT_ALARM_THROTTLES_THRESHOLD": "-1"},
		"TENANT_ALARM_DURATION_RATIO":      {"TENANT_ALARM_DURATION_RATIO": "1.5"},
		"GATEWAY_METRICS_NAMESPACE":        {"GATEWAY_METRICS_NAMESPACE": "AWS/Lambda"},
	} {
		_, err := SettingsFromEnv(env(vars), 30)
		require.ErrorContains(t, err, name+":", name)
	}
}
