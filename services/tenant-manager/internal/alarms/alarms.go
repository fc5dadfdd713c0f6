// Package alarms manages a project's CloudWatch alarms: created when the
// project is provisioned, deleted with it (and when a create is undone),
// and brought in line with the configuration once at start.
package alarms

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Alarm kinds, as named in TENANT_ALARMS and at the end of alarm names.
const (
	Gateway5xx      = "gateway-5xx"
	LambdaErrors    = "lambda-errors"
	LambdaThrottles = "lambda-throttles"
	LambdaDuration  = "lambda-duration"
)

// Kinds are all kinds there are. Delete removes every one of them, not only
// the configured ones, so a kind dropped from TENANT_ALARMS since the
// project was created does not outlive it.
var Kinds = []string{Gateway5xx, LambdaErrors, LambdaThrottles, LambdaDuration}

// NamePrefix starts every per-project alarm name; the IAM policy of the
// tenant-manager is scoped to it.
const NamePrefix = "supabase-tenant-"

// Name is a project's alarm of one kind: supabase-tenant-{id}-{kind}.
func Name(projectID, kind string) string { return NamePrefix + projectID + "-" + kind }

// period is the evaluation window of every alarm: standard resolution
// (the $0.10 per alarm-month price) and long enough that a single failed
// request among few does not page anyone.
const period = 300

// Settings come from the environment (SettingsFromEnv) plus the function
// timeout the Duration alarm is relative to.
type Settings struct {
	// TopicARN receives alarm and OK notifications; empty disables
	// per-project alarms altogether.
	TopicARN string
	// Kinds are the alarms each project gets (may be empty: "none").
	Kinds []string
	// Thresholds, per 5 minutes: 5xx answers of the gateway, Lambda
	// errors and throttles (at or above these the alarm fires).
	Gateway5xxThreshold, ErrorsThreshold, ThrottlesThreshold float64
	// DurationRatio of the function timeout that the p99 Duration must
	// exceed.
	DurationRatio float64
	// Namespace of the gateway's per-project metrics.
	Namespace string
	// FunctionTimeoutSeconds is the tenant functions' timeout.
	FunctionTimeoutSeconds int
}

var (
	topicARNRe  = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$`)
	namespaceRe = regexp.MustCompile(`^[A-Za-z0-9._/#:-]{1,255}$`)
)

// SettingsFromEnv reads ALARM_TOPIC_ARN, TENANT_ALARMS (comma list of
// kinds or "none"; default gateway-5xx), TENANT_ALARM_5XX_THRESHOLD (10),
// TENANT_ALARM_ERRORS_THRESHOLD (5), TENANT_ALARM_THROTTLES_THRESHOLD (1),
// TENANT_ALARM_DURATION_RATIO (0.8) and GATEWAY_METRICS_NAMESPACE
// (Supabase/Gateway). The default is one alarm per project because alarms
// bill every month, idle or not.
func SettingsFromEnv(getenv func(string) string, functionTimeoutSeconds int) (Settings, error) {
	s := Settings{
		TopicARN:               getenv("ALARM_TOPIC_ARN"),
		Kinds:                  []string{Gateway5xx},
		Gateway5xxThreshold:    10,
		ErrorsThreshold:        5,
		ThrottlesThreshold:     1,
		DurationRatio:          0.8,
		Namespace:              "Supabase/Gateway",
		FunctionTimeoutSeconds: functionTimeoutSeconds,
	}
	if s.TopicARN != "" && !topicARNRe.MatchString(s.TopicARN) {
		return s, fmt.Errorf("ALARM_TOPIC_ARN: must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)")
	}
	if v := strings.TrimSpace(getenv("TENANT_ALARMS")); v == "none" {
		s.Kinds = nil
	} else if v != "" {
		s.Kinds = nil
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(k)
			if !slices.Contains(Kinds, k) {
				return s, fmt.Errorf("TENANT_ALARMS: %q is not one of %s (or the single word none)", k, strings.Join(Kinds, ", "))
			}
			if !slices.Contains(s.Kinds, k) {
				s.Kinds = append(s.Kinds, k)
			}
		}
	}
	for _, f := range []struct {
		name   string
		dst    *float64
		lo, hi float64
	}{
		{"TENANT_ALARM_5XX_THRESHOLD", &s.Gateway5xxThreshold, 1, 1e9},
		{"TENANT_ALARM_ERRORS_THRESHOLD", &s.ErrorsThreshold, 1, 1e9},
		{"TENANT_ALARM_THROTTLES_THRESHOLD", &s.ThrottlesThreshold, 1, 1e9},
		{"TENANT_ALARM_DURATION_RATIO", &s.DurationRatio, 0.01, 1},
	} {
		v := getenv(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < f.lo || n > f.hi {
			return s, fmt.Errorf("%s: must be a number from %g to %g, got %q", f.name, f.lo, f.hi, v)
		}
		*f.dst = n
	}
	if v := getenv("GATEWAY_METRICS_NAMESPACE"); v != "" {
		if !namespaceRe.MatchString(v) || strings.HasPrefix(v, "AWS/") {
			return s, fmt.Errorf("GATEWAY_METRICS_NAMESPACE: must be a CloudWatch namespace of letters, digits and ._/#:- not starting with AWS/, got %q", v)
		}
		s.Namespace = v
	}
	return s, nil
}

// Enabled says whether projects get alarms at all.
func (s Settings) Enabled() bool { return s.TopicARN != "" }

// Manager creates and deletes the alarms through CloudWatch.
type Manager struct {
	API      *cloudwatch.Client
	Settings Settings
}

// desired is the alarm of one kind for a project.
func (m *Manager) desired(projectID, kind string) *cloudwatch.PutMetricAlarmInput {
	s := m.Settings
	fn := []types.Dimension{{Name: aws.String("FunctionName"), Value: aws.String("postgrest-" + projectID)}}
	in := &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String(Name(projectID, kind)),
		Period:             aws.Int32(period),
		EvaluationPeriods:  aws.Int32(1),
		ComparisonOperator: types.ComparisonOperatorGreaterThanOrEqualToThreshold,
		Statistic:          types.StatisticSum,
		// No traffic is no failure: an idle project stays OK instead of
		// flapping to INSUFFICIENT_DATA.
		TreatMissingData: aws.String("notBreaching"),
		ActionsEnabled:   aws.Bool(true),
		AlarmActions:     []string{s.TopicARN},
		OKActions:        []string{s.TopicARN},
		Tags: []types.Tag{
			{Key: aws.String("project"), Value: aws.String(projectID)},
			{Key: aws.String("managed-by"), Value: aws.String("supabase-tenant-manager")},
		},
	}
	switch kind {
	case Gateway5xx:
		in.Namespace, in.MetricName = aws.String(s.Namespace), aws.String("Errors5xx")
		in.Dimensions = []types.Dimension{{Name: aws.String("Project"), Value: aws.String(projectID)}}
		in.Threshold = aws.Float64(s.Gateway5xxThreshold)
		in.AlarmDescription = aws.String(fmt.Sprintf("Project %s: at least %g 5xx answers from the gateway in 5 minutes", projectID, s.Gateway5xxThreshold))
	case LambdaErrors:
		in.Namespace, in.MetricName, in.Dimensions = aws.String("AWS/Lambda"), aws.String("Errors"), fn
		in.Threshold = aws.Float64(s.ErrorsThreshold)
		in.AlarmDescription = aws.String(fmt.Sprintf("Project %s: at least %g PostgREST function errors in 5 minutes", projectID, s.ErrorsThreshold))
	case LambdaThrottles:
		in.Namespace, in.MetricName, in.Dimensions = aws.String("AWS/Lambda"), aws.String("Throttles"), fn
		in.Threshold = aws.Float64(s.ThrottlesThreshold)
		in.AlarmDescription = aws.String(fmt.Sprintf("Project %s: at least %g throttled PostgREST invocations in 5 minutes", projectID, s.ThrottlesThreshold))
	case LambdaDuration:
		limit := s.DurationRatio * float64(s.FunctionTimeoutSeconds) * 1000
		in.Namespace, in.MetricName, in.Dimensions = aws.String("AWS/Lambda"), aws.String("Duration"), fn
		in.Statistic, in.ExtendedStatistic = "", aws.String("p99")
		in.ComparisonOperator = types.ComparisonOperatorGreaterThanThreshold
		in.Threshold = aws.Float64(limit)
		in.AlarmDescription = aws.String(fmt.Sprintf("Project %s: p99 PostgREST duration above %g ms (%g of the %d s timeout) over 5 minutes", projectID, limit, s.DurationRatio, s.FunctionTimeoutSeconds))
	}
	return in
}

// Ensure creates (or updates) the configured alarms of a project.
// PutMetricAlarm replaces an alarm of the same name, so a retry is safe.
func (m *Manager) Ensure(ctx context.Context, projectID string) error {
	for _, kind := range m.Settings.Kinds {
		if _, err := m.API.PutMetricAlarm(ctx, m.desired(projectID, kind)); err != nil {
			return fmt.Errorf("creating alarm %s: %w", Name(projectID, kind), err)
		}
	}
	return nil
}

// Delete removes every alarm kind of a project; missing ones are fine.
// Only names that exist are passed on: DeleteAlarms has answered
// ResourceNotFound for unknown names, and a delete must stay retryable.
func (m *Manager) Delete(ctx context.Context, projectID string) error {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = Name(projectID, k)
	}
	out, err := m.API.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names})
	if err != nil {
		return fmt.Errorf("listing the alarms of %s: %w", projectID, err)
	}
	var existing []string
	for _, a := range out.MetricAlarms {
		existing = append(existing, aws.ToString(a.AlarmName))
	}
	return m.deleteNames(ctx, existing)
}

func (m *Manager) deleteNames(ctx context.Context, names []string) error {
	for len(names) > 0 {
		// DeleteAlarms takes at most 100 names.
		batch := names[:min(len(names), 100)]
		names = names[len(batch):]
		var nf *types.ResourceNotFound
		if _, err := m.API.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: batch}); err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("deleting alarms %s: %w", strings.Join(batch, ", "), err)
		}
	}
	return nil
}

// Sync brings the alarms of the given (active) projects in line with the
// settings: missing or differing configured alarms are put, alarms of
// kinds no longer configured are deleted. It reads all per-project alarms
// in pages of 100 and writes only what differs, so a restart with nothing
// changed makes no writes. Alarms of projects not in the list are left
// alone: they may belong to a create in progress on another task.
func (m *Manager) Sync(ctx context.Context, projectIDs []string) (put, deleted int, err error) {
	have := map[string]types.MetricAlarm{}
	pages := cloudwatch.NewDescribeAlarmsPaginator(m.API, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(NamePrefix), MaxRecords: aws.Int32(100)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("listing alarms: %w", err)
		}
		for _, a := range out.MetricAlarms {
			have[aws.ToString(a.AlarmName)] = a
		}
	}
	var stale []string
	var errs []error
	for _, id := range projectIDs {
		for _, kind := range Kinds {
			name := Name(id, kind)
			cur, exists := have[name]
			if !slices.Contains(m.Settings.Kinds, kind) {
				if exists {
					stale = append(stale, name)
				}
				continue
			}
			want := m.desired(id, kind)
			if exists && same(cur, want) {
				continue
			}
			if _, err := m.API.PutMetricAlarm(ctx, want); err != nil {
				errs = append(errs, fmt.Errorf("putting alarm %s: %w", name, err))
				continue
			}
			put++
		}
	}
	if err := m.deleteNames(ctx, stale); err != nil {
		errs = append(errs, err)
	} else {
		deleted = len(stale)
	}
	return put, deleted, errors.Join(errs...)
}

// same compares what Ensure sets (tags aside: PutMetricAlarm ignores them
// on an existing alarm).
func same(a types.MetricAlarm, w *cloudwatch.PutMetricAlarmInput) bool {
	dims := func(ds []types.Dimension) []string {
		var out []string
		for _, d := range ds {
			out = append(out, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
		}
		slices.Sort(out)
		return out
	}
	return aws.ToString(a.Namespace) == aws.ToString(w.Namespace) &&
		aws.ToString(a.MetricName) == aws.ToString(w.MetricName) &&
		slices.Equal(dims(a.Dimensions), dims(w.Dimensions)) &&
		a.Statistic == w.Statistic &&
		aws.ToString(a.ExtendedStatistic) == aws.ToString(w.ExtendedStatistic) &&
		aws.ToInt32(a.Period) == aws.ToInt32(w.Period) &&
		aws.ToInt32(a.EvaluationPeriods) == aws.ToInt32(w.EvaluationPeriods) &&
		aws.ToFloat64(a.Threshold) == aws.ToFloat64(w.Threshold) &&
		a.ComparisonOperator == w.ComparisonOperator &&
		aws.ToString(a.TreatMissingData) == aws.ToString(w.TreatMissingData) &&
		aws.ToBool(a.ActionsEnabled) == aws.ToBool(w.ActionsEnabled) &&
		slices.Equal(a.AlarmActions, w.AlarmActions) &&
		slices.Equal(a.OKActions, w.OKActions) &&
		aws.ToString(a.AlarmDescription) == aws.ToString(w.AlarmDescription)
}
