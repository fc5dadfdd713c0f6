package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	"github.com/stretchr/testify/require"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/alarms"
)

const alarmTopic = "arn:aws:sns:us-east-1:123456789012:platform-alarms"

// moto does not speak the SDK's default CloudWatch protocol (RPC v2 CBOR);
// the tenant-manager's client and the tests' use the query protocol.
func init() { cloudWatchOptions = append(cloudWatchOptions, queryProtocol) }

func queryProtocol(o *cloudwatch.Options) {
	o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
}

func testCloudWatch() *cloudwatch.Client { return cloudwatch.NewFromConfig(env.aws, queryProtocol) }

// projectAlarms lists the per-project alarms of id in moto, by kind.
func projectAlarms(t testing.TB, id string) map[string]types.MetricAlarm {
	t.Helper()
	out, err := testCloudWatch().DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(alarms.NamePrefix + id + "-")})
	require.NoError(t, err)
	got := map[string]types.MetricAlarm{}
	for _, a := range out.MetricAlarms {
		for _, k := range alarms.Kinds {
			if aws.ToString(a.AlarmName) == alarms.Name(id, k) {
				got[k] = a
			}
		}
	}
	return got
}

func kinds(m map[string]types.MetricAlarm) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dims(a types.MetricAlarm) map[string]string {
	out := map[string]string{}
	for _, d := range a.Dimensions {
		out[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	return out
}

// unreachableCloudWatch answers nothing: a closed port, one attempt.
func unreachableCloudWatch() *cloudwatch.Client {
	return cloudwatch.NewFromConfig(env.aws, queryProtocol, func(o *cloudwatch.Options) {
		o.BaseEndpoint = aws.String(fmt.Sprintf("http://127.0.0.1:%d", freePort()))
		o.RetryMaxAttempts = 1
	})
}

func TestAlarmsFollowTheProject(t *testing.T) {
	t.Parallel()
	m := newTM(t, withEnv("ALARM_TOPIC_ARN", alarmTopic), withEnv("TENANT_ALARMS", "gateway-5xx, lambda-errors,lambda-throttles,lambda-duration"))
	m.mustCreate("alarm-all")

	got := projectAlarms(t, "alarm-all")
	require.Equal(t, []string{"gateway-5xx", "lambda-duration", "lambda-errors", "lambda-throttles"}, kinds(got))
	g := got["gateway-5xx"]
	require.Equal(t, "Supabase/Gateway", aws.ToString(g.Namespace))
	require.Equal(t, "Errors5xx", aws.ToString(g.MetricName))
	require.Equal(t, map[string]string{"Project": "alarm-all"}, dims(g))
	require.Equal(t, types.StatisticSum, g.Statistic)
	require.Equal(t, int32(300), aws.ToInt32(g.Period))
	require.Equal(t, 10.0, aws.ToFloat64(g.Threshold))
	require.Equal(t, []string{alarmTopic}, g.AlarmActions)
	require.Equal(t, []string{alarmTopic}, g.OKActions)
	require.Equal(t, "notBreaching", aws.ToString(g.TreatMissingData))
	for kind, metric := range map[string]string{"lambda-errors": "Errors", "lambda-throttles": "Throttles", "lambda-duration": "Duration"} {
		a := got[kind]
		require.Equal(t, "AWS/Lambda", aws.ToString(a.Namespace), kind)
		require.Equal(t, metric, aws.ToString(a.MetricName), kind)
		require.Equal(t, map[string]string{"FunctionName": "postgrest-alarm-all"}, dims(a), kind)
		require.Equal(t, []string{alarmTopic}, a.AlarmActions, kind)
	}
	require.Equal(t, 5.0, aws.ToFloat64(got["lambda-errors"].Threshold))
	require.Equal(t, 1.0, aws.ToFloat64(got["lambda-throttles"].Threshold))
	require.Equal(t, "p99", aws.ToString(got["lambda-duration"].ExtendedStatistic))
	require.Equal(t, 0.8*30*1000, aws.ToFloat64(got["lambda-duration"].Threshold), "p99 above 0.8 of the 30 s timeout")

	status, _ := m.do("DELETE", "/project/alarm-all", adminToken, "")
	require.Equal(t, http.StatusNoContent, status)
	require.Empty(t, projectAlarms(t, "alarm-all"))

	t.Run("a delete retried after the alarms are gone still succeeds", func(t *testing.T) {
		status, body := m.create("alarm-retry")
		require.Equal(t, http.StatusCreated, status, body)
		require.NoError(t, m.app.Service.Alarms.Delete(context.Background(), "alarm-retry"))
		status, _ = m.do("DELETE", "/project/alarm-retry", adminToken, "")
		require.Equal(t, http.StatusNoContent, status)
		require.Empty(t, m.leftovers("alarm-retry"))
	})
}

func TestAlarmsDefaultIsOnePerProject(t *testing.T) {
	t.Parallel()
	m := newTM(t, withEnv("ALARM_TOPIC_ARN", alarmTopic))
	m.mustCreate("alarm-default")
	require.Equal(t, []string{"gateway-5xx"}, kinds(projectAlarms(t, "alarm-default")))
}

func TestNoAlarmsWithoutTopic(t *testing.T) {
	t.Parallel()
	m := newTM(t)
	require.Nil(t, m.app.Service.Alarms)
	m.mustCreate("alarm-none")
	require.Empty(t, projectAlarms(t, "alarm-none"))
}

func TestAlarmsUndoneWhenCreateFails(t *testing.T) {
	t.Parallel()
	alarmEnv := []option{withEnv("ALARM_TOPIC_ARN", alarmTopic), withEnv("TENANT_ALARMS", "gateway-5xx,lambda-errors")}

	t.Run("a later step fails", func(t *testing.T) {
		m := newTM(t, alarmEnv...)
		m.kong.Down = true
		status, body := m.create("alarm-fail")
		require.Equal(t, http.StatusBadGateway, status, body)
		require.Equal(t, "kong", body["step"])
		require.Empty(t, projectAlarms(t, "alarm-fail"))
		require.Empty(t, m.leftovers("alarm-fail"))
	})

	t.Run("CloudWatch is unreachable", func(t *testing.T) {
		m := newTM(t, alarmEnv...)
		real := m.app.Service.Alarms.(*alarms.Manager)
		m.app.Service.Alarms = &alarms.Manager{API: unreachableCloudWatch(), Settings: real.Settings}
		status, body := m.create("alarm-cw-down")
		require.Equal(t, http.StatusBadGateway, status, body)
		require.Equal(t, "alarms", body["step"])
		require.Empty(t, m.leftovers("alarm-cw-down"), "the function made before the alarm step is undone")
		m.app.Service.Alarms = real
		status, body = m.create("alarm-cw-down")
		require.Equal(t, http.StatusCreated, status, body)
		require.Len(t, projectAlarms(t, "alarm-cw-down"), 2)
	})
}

func TestAlarmsSyncedAtStart(t *testing.T) {
	t.Parallel()
	m := newTM(t, withEnv("ALARM_TOPIC_ARN", alarmTopic))
	ctx := context.Background()
	for _, id := range []string{"alarm-sync-a", "alarm-sync-b"} {
		status, body := m.create(id)
		require.Equal(t, http.StatusCreated, status, body)
	}
	cw := testCloudWatch()
	// A project whose alarm is missing (made before alarms were enabled)
	// and one with an alarm of a kind no longer configured.
	_, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{alarms.Name("alarm-sync-a", alarms.Gateway5xx)}})
	require.NoError(t, err)
	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(alarms.Name("alarm-sync-b", alarms.LambdaThrottles)), Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("Throttles"),
		Statistic: types.StatisticSum, Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
	})
	require.NoError(t, err)
	// A foreign alarm with the same prefix but no project of ours.
	foreign := alarms.Name("someone-else", alarms.Gateway5xx)
	_, err = cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(foreign), Namespace: aws.String("Supabase/Gateway"), MetricName: aws.String("Errors5xx"),
		Statistic: types.StatisticSum, Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1),
		ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
	})
	require.NoError(t, err)
	defer cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{foreign}})
	// A new threshold in the configuration reaches existing alarms too.
	cfg2 := *m.cfg
	cfg2.Env = envWith(m.cfg.Env, "TENANT_ALARM_5XX_THRESHOLD", "25")

	// Another task starting on the same platform database.
	a2, err := New(ctx, &cfg2, env.aws, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer a2.Close()
	require.Eventually(t, func() bool {
		a, b := projectAlarms(t, "alarm-sync-a"), projectAlarms(t, "alarm-sync-b")
		return len(a) == 1 && aws.ToFloat64(a["gateway-5xx"].Threshold) == 25 &&
			len(b) == 1 && aws.ToFloat64(b["gateway-5xx"].Threshold) == 25
	}, 20*time.Second, 100*time.Millisecond, "a: %v, b: %v", projectAlarms(t, "alarm-sync-a"), projectAlarms(t, "alarm-sync-b"))
	require.NotEmpty(t, projectAlarms(t, "someone-else"), "alarms of unknown projects are left alone")

	t.Run("a second pass with nothing changed writes nothing", func(t *testing.T) {
		put, deleted, err := a2.Service.Alarms.Sync(ctx, []string{"alarm-sync-a", "alarm-sync-b"})
		require.NoError(t, err)
		require.Equal(t, 0, put)
		require.Equal(t, 0, deleted)
	})
}
