package reconcile

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stretchr/testify/require"
)

func TestLimiterSpacesCalls(t *testing.T) {
	l := newLimiter(50) // one call per 20 ms
	start := time.Now()
	for i := 0; i < 6; i++ {
		require.NoError(t, l.wait(context.Background()))
	}
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)

	unlimited := newLimiter(0)
	start = time.Now()
	for i := 0; i < 1000; i++ {
		require.NoError(t, unlimited.wait(context.Background()))
	}
	require.Less(t, time.Since(start), 50*time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Error(t, newLimiter(0.01).wait(ctx))
}

func TestCallBacksOffOnThrottling(t *testing.T) {
	defer func(d time.Duration) { throttleFirstWait = d }(throttleFirstWait)
	throttleFirstWait = 10 * time.Millisecond
	l := newLimiter(0)

	n := 0
	out, err := call(context.Background(), l, func() (int, error) {
		n++
		if n < 3 {
			return 0, &types.TooManyRequestsException{Message: aws.String("Rate exceeded")}
		}
		return 42, nil
	})
	require.NoError(t, err)
	require.Equal(t, 42, out)
	require.Equal(t, 3, n, "throttled twice, then answered")

	n = 0
	_, err = call(context.Background(), l, func() (int, error) {
		n++
		return 0, &types.InvalidParameterValueException{Message: aws.String("no")}
	})
	require.Error(t, err)
	require.Equal(t, 1, n, "other errors are not retried here")

	n = 0
	_, err = call(context.Background(), l, func() (int, error) {
		n++
		return 0, &types.TooManyRequestsException{}
	})
	require.True(t, isThrottle(err))
	require.Equal(t, throttleRetries+1, n, "a bounded number of retries")
	require.False(t, isThrottle(errors.New("TooManyRequestsException")))
}
