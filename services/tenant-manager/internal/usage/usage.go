// Package usage reads a project's request counts from the gateway's
// per-project CloudWatch metrics (namespace GATEWAY_METRICS_NAMESPACE,
// metric Requests, dimension Project), which the stack derives from the
// gateway's access log.
package usage

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Reader queries CloudWatch.
type Reader struct {
	API       *cloudwatch.Client
	Namespace string
}

// Requests returns the project's request count in each period from start
// (inclusive) to end (exclusive): one entry per period, zero where the
// metric has no data (it only has data in periods with traffic). start
// must be aligned to period.
func (r *Reader) Requests(ctx context.Context, projectID string, start, end time.Time, period time.Duration) ([]int64, error) {
	n := int(end.Sub(start) / period)
	if n <= 0 || start.Add(time.Duration(n)*period) != end {
		return nil, fmt.Errorf("usage: %s..%s is not a whole number of %s periods", start, end, period)
	}
	counts := make([]int64, n)
	pages := cloudwatch.NewGetMetricDataPaginator(r.API, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(start),
		EndTime:   aws.Time(end),
		MetricDataQueries: []types.MetricDataQuery{{
			Id: aws.String("requests"),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{
					Namespace:  aws.String(r.Namespace),
					MetricName: aws.String("Requests"),
					Dimensions: []types.Dimension{{Name: aws.String("Project"), Value: aws.String(projectID)}},
				},
				Period: aws.Int32(int32(period / time.Second)),
				Stat:   aws.String("Sum"),
			},
		}},
	})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, res := range out.MetricDataResults {
			for i, ts := range res.Timestamps {
				if i >= len(res.Values) {
					break
				}
				// A datapoint's timestamp is the start of its period.
				k := int(ts.Sub(start) / period)
				if ts.Before(start) || k >= n {
					continue
				}
				counts[k] += int64(res.Values[i] + 0.5)
			}
		}
	}
	return counts, nil
}
