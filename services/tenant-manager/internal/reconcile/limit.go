package reconcile

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
)

// limiter spaces calls evenly at rate per second (a token bucket of one:
// Lambda's control-plane quotas are per second and bursts gain nothing).
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func newLimiter(rate float64) *limiter {
	l := &limiter{}
	if rate > 0 {
		l.interval = time.Duration(float64(time.Second) / rate)
	}
	return l
}

func (l *limiter) wait(ctx context.Context) error {
	if l.interval == 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	return sleep(ctx, d)
}

// throttleCodes are the error codes of a refused rate (Lambda answers
// TooManyRequestsException; the others are the SDK family's names).
var throttleCodes = map[string]bool{"TooManyRequestsException": true, "ThrottlingException": true, "Throttling": true, "RequestLimitExceeded": true}

func isThrottle(err error) bool {
	var ae interface{ ErrorCode() string }
	return errors.As(err, &ae) && throttleCodes[ae.ErrorCode()]
}

// Throttle backoff: beyond the SDK's own retries, a throttled call waits
// 1 s, 2 s, 4 s ... (at most 30 s, with jitter) up to throttleRetries
// more times before the project's attempt fails.
const (
	throttleRetries = 6
	throttleMaxWait = 30 * time.Second
)

// throttleFirstWait is a variable so tests need not sleep whole seconds.
var throttleFirstWait = time.Second

func call[T any](ctx context.Context, l *limiter, f func() (T, error)) (T, error) {
	delay := throttleFirstWait
	for i := 0; ; i++ {
		if err := l.wait(ctx); err != nil {
			var zero T
			return zero, err
		}
		out, err := f()
		if err == nil || !isThrottle(err) || i >= throttleRetries {
			return out, err
		}
		wait := delay/2 + rand.N(delay/2+1)
		select {
		case <-ctx.Done():
			return out, err
		case <-time.After(wait):
		}
		delay = min(delay*2, throttleMaxWait)
	}
}

// limitedAPI puts the reconciler's rate limit and throttle backoff in
// front of every Lambda call it makes, those of lambdas.Client included.
type limitedAPI struct {
	next lambdas.API
	lim  *limiter
}

func (a limitedAPI) CreateFunction(ctx context.Context, in *lambda.CreateFunctionInput, o ...func(*lambda.Options)) (*lambda.CreateFunctionOutput, error) {
	return call(ctx, a.lim, func() (*lambda.CreateFunctionOutput, error) { return a.next.CreateFunction(ctx, in, o...) })
}
func (a limitedAPI) GetFunction(ctx context.Context, in *lambda.GetFunctionInput, o ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	return call(ctx, a.lim, func() (*lambda.GetFunctionOutput, error) { return a.next.GetFunction(ctx, in, o...) })
}
func (a limitedAPI) GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, o ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	return call(ctx, a.lim, func() (*lambda.GetFunctionConfigurationOutput, error) {
		return a.next.GetFunctionConfiguration(ctx, in, o...)
	})
}
func (a limitedAPI) UpdateFunctionCode(ctx context.Context, in *lambda.UpdateFunctionCodeInput, o ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error) {
	return call(ctx, a.lim, func() (*lambda.UpdateFunctionCodeOutput, error) { return a.next.UpdateFunctionCode(ctx, in, o...) })
}
func (a limitedAPI) UpdateFunctionConfiguration(ctx context.Context, in *lambda.UpdateFunctionConfigurationInput, o ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error) {
	return call(ctx, a.lim, func() (*lambda.UpdateFunctionConfigurationOutput, error) {
		return a.next.UpdateFunctionConfiguration(ctx, in, o...)
	})
}
func (a limitedAPI) DeleteFunction(ctx context.Context, in *lambda.DeleteFunctionInput, o ...func(*lambda.Options)) (*lambda.DeleteFunctionOutput, error) {
	return call(ctx, a.lim, func() (*lambda.DeleteFunctionOutput, error) { return a.next.DeleteFunction(ctx, in, o...) })
}
func (a limitedAPI) CreateFunctionUrlConfig(ctx context.Context, in *lambda.CreateFunctionUrlConfigInput, o ...func(*lambda.Options)) (*lambda.CreateFunctionUrlConfigOutput, error) {
	return call(ctx, a.lim, func() (*lambda.CreateFunctionUrlConfigOutput, error) {
		return a.next.CreateFunctionUrlConfig(ctx, in, o...)
	})
}
func (a limitedAPI) GetFunctionUrlConfig(ctx context.Context, in *lambda.GetFunctionUrlConfigInput, o ...func(*lambda.Options)) (*lambda.GetFunctionUrlConfigOutput, error) {
	return call(ctx, a.lim, func() (*lambda.GetFunctionUrlConfigOutput, error) { return a.next.GetFunctionUrlConfig(ctx, in, o...) })
}
func (a limitedAPI) UpdateFunctionUrlConfig(ctx context.Context, in *lambda.UpdateFunctionUrlConfigInput, o ...func(*lambda.Options)) (*lambda.UpdateFunctionUrlConfigOutput, error) {
	return call(ctx, a.lim, func() (*lambda.UpdateFunctionUrlConfigOutput, error) {
		return a.next.UpdateFunctionUrlConfig(ctx, in, o...)
	})
}
func (a limitedAPI) DeleteFunctionUrlConfig(ctx context.Context, in *lambda.DeleteFunctionUrlConfigInput, o ...func(*lambda.Options)) (*lambda.DeleteFunctionUrlConfigOutput, error) {
	return call(ctx, a.lim, func() (*lambda.DeleteFunctionUrlConfigOutput, error) {
		return a.next.DeleteFunctionUrlConfig(ctx, in, o...)
	})
}
func (a limitedAPI) GetFunctionConcurrency(ctx context.Context, in *lambda.GetFunctionConcurrencyInput, o ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error) {
	return call(ctx, a.lim, func() (*lambda.GetFunctionConcurrencyOutput, error) {
		return a.next.GetFunctionConcurrency(ctx, in, o...)
	})
}
func (a limitedAPI) PutFunctionConcurrency(ctx context.Context, in *lambda.PutFunctionConcurrencyInput, o ...func(*lambda.Options)) (*lambda.PutFunctionConcurrencyOutput, error) {
	return call(ctx, a.lim, func() (*lambda.PutFunctionConcurrencyOutput, error) {
		return a.next.PutFunctionConcurrency(ctx, in, o...)
	})
}
func (a limitedAPI) DeleteFunctionConcurrency(ctx context.Context, in *lambda.DeleteFunctionConcurrencyInput, o ...func(*lambda.Options)) (*lambda.DeleteFunctionConcurrencyOutput, error) {
	return call(ctx, a.lim, func() (*lambda.DeleteFunctionConcurrencyOutput, error) {
		return a.next.DeleteFunctionConcurrency(ctx, in, o...)
	})
}

var _ lambdas.API = limitedAPI{}
