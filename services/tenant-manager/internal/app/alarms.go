package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
)

// cloudWatchOptions adjust the CloudWatch client; the tests set the query
// protocol, the one moto understands, instead of the SDK's default CBOR.
var cloudWatchOptions []func(*cloudwatch.Options)

// alarmSyncTimeout bounds the start pass over existing projects: at
// CloudWatch's PutMetricAlarm rate (a few per second) it covers well over
// a thousand projects whose alarms all changed.
const alarmSyncTimeout = 10 * time.Minute

// startAlarmSync gives existing projects their alarms once, in the
// background so a slow CloudWatch does not delay the listeners; Close
// stops it.
func startAlarmSync(a *App, log *slog.Logger) {
	if a.Service.Alarms == nil {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.starting.Add(1)
	go func() {
		defer close(done)
		defer a.starting.Done()
		if err := a.Service.SyncAlarms(ctx, alarmSyncTimeout); err != nil && ctx.Err() == nil {
			log.Error("synchronising per-project alarms failed; the next start retries", "error", err.Error())
		}
	}()
	a.closers = append(a.closers, func() { stop(); <-done })
}
