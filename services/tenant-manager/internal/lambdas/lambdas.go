// Package lambdas creates and deletes a tenant's PostgREST Lambda
// (postgrest-{id}) and its AWS_IAM Function URL (provisioning step 5).
package lambdas

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Settings are the same for every tenant function.
type Settings struct {
	ImageURI         string
	RoleARN          string
	SubnetIDs        []string
	SecurityGroupIDs []string
	MemoryMiB        int32
	TimeoutSeconds   int32
	ConfigServiceURL string
	STSEndpoint      string
	// Architecture is x86_64 (default when empty) or arm64; the image
	// must be built for it.
	Architecture string
	// ActiveTimeout bounds the wait for a new function to become Active.
	ActiveTimeout time.Duration
	// RecycleTimeout bounds a Recycle, waits and retries included
	// (default 3 min).
	RecycleTimeout time.Duration
	// PollInterval is the first delay between status polls and conflict
	// retries (default 250 ms, doubling up to 5 s).
	PollInterval time.Duration
}

// Client manages tenant functions.
type Client struct {
	API      API
	Settings Settings
}

// FunctionName is the tenant's function: postgrest-{id}.
func FunctionName(projectID string) string { return "postgrest-" + projectID }

// Function is what a created function is known by.
type Function struct {
	Name, ARN, URL string
}

// Create makes the function, waits until it is Active and adds its URL.
// On error it may leave a function behind; Delete removes it.
func (c *Client) Create(ctx context.Context, projectID string) (Function, error) {
	s := c.Settings
	name := FunctionName(projectID)
	spec := s.Spec(projectID)
	out, err := c.API.CreateFunction(ctx, spec.CreateInput(projectID))
	if err != nil {
		return Function{}, fmt.Errorf("creating function %s: %w", name, err)
	}
	if _, err := waitActive(ctx, c.API, name, s.ActiveTimeout); err != nil {
		return Function{ARN: aws.ToString(out.FunctionArn), Name: name}, err
	}
	u, err := c.API.CreateFunctionUrlConfig(ctx, spec.URLInput(projectID))
	if err != nil {
		return Function{ARN: aws.ToString(out.FunctionArn), Name: name}, fmt.Errorf("creating the URL of %s: %w", name, err)
	}
	return Function{Name: name, ARN: aws.ToString(out.FunctionArn), URL: aws.ToString(u.FunctionUrl)}, nil
}

// waitActive waits up to timeout (0: 5 min) for the function called name
// to become Active.
func waitActive(ctx context.Context, api API, name string, timeout time.Duration) (*lambda.GetFunctionOutput, error) {
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	waiter := lambda.NewFunctionActiveV2Waiter(api, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, 5*time.Second
	})
	out, err := waiter.WaitForOutput(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, timeout)
	if err != nil {
		return nil, fmt.Errorf("function %s did not become Active: %w", name, err)
	}
	return out, nil
}

// Delete removes the URL and the function; missing ones are fine.
func (c *Client) Delete(ctx context.Context, projectID string) error {
	return deleteFunction(ctx, c.API, FunctionName(projectID))
}

// deleteFunction is Delete for either kind of tenant function by name.
func deleteFunction(ctx context.Context, api API, function string) error {
	name := aws.String(function)
	if _, err := api.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: name}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("deleting the URL of %s: %w", function, err)
	}
	if _, err := api.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: name}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("deleting function %s: %w", function, err)
	}
	return nil
}

// Recycle changes the function's configuration (a CONFIG_GENERATION
// variable), so Lambda replaces warm instances and new ones fetch the
// current configuration, e.g. during a JWT secret rotation. It returns once
// the update is done (LastUpdateStatus Successful): from then on every
// invocation runs in an instance that fetched its configuration after the
// call. An update already in progress is waited out first, and a conflict
// with a concurrent one is retried with capped backoff, all within
// Settings.RecycleTimeout.
func (c *Client) Recycle(ctx context.Context, projectID string) error {
	return c.recycle(ctx, FunctionName(projectID))
}

// recycle is Recycle for any tenant function by name (the edge functions
// Lambdas are recycled the same way).
func (c *Client) recycle(ctx context.Context, name string) error {
	timeout := c.Settings.RecycleTimeout
	if timeout <= 0 {
		timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := c.pollInterval()
	for attempt := 1; ; attempt++ {
		fn, err := c.settled(ctx, name)
		if err != nil {
			return err
		}
		vars := map[string]string{}
		if fn.Environment != nil {
			for k, v := range fn.Environment.Variables {
				vars[k] = v
			}
		}
		vars["CONFIG_GENERATION"] = fmt.Sprint(time.Now().UnixNano())
		// RevisionId: a configuration changed since it was read (another
		// writer) is not overwritten with the old variables.
		_, err = c.API.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(name),
			Environment:  &types.Environment{Variables: vars},
			RevisionId:   fn.RevisionId,
		})
		if err == nil {
			break
		}
		var conflict *types.ResourceConflictException
		var stale *types.PreconditionFailedException
		if !errors.As(err, &conflict) && !errors.As(err, &stale) {
			return fmt.Errorf("recycling function %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("recycling function %s: still conflicting with another update after %d attempts in %s: %w", name, attempt, timeout, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
	fn, err := c.settled(ctx, name)
	if err != nil {
		return err
	}
	if fn.LastUpdateStatus != types.LastUpdateStatusSuccessful {
		return fmt.Errorf("recycling function %s: update ended %s: %s", name, fn.LastUpdateStatus, aws.ToString(fn.LastUpdateStatusReason))
	}
	return nil
}

// IsNotFound says err comes from a function (or URL) that does not exist.
func IsNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

func (c *Client) pollInterval() time.Duration {
	if c.Settings.PollInterval > 0 {
		return c.Settings.PollInterval
	}
	return 250 * time.Millisecond
}

// settled polls the function until no update is in progress and returns
// its configuration.
func (c *Client) settled(ctx context.Context, name string) (*lambda.GetFunctionConfigurationOutput, error) {
	delay := c.pollInterval()
	for {
		fn, err := c.API.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("reading function %s: %w", name, err)
		}
		if fn.LastUpdateStatus != types.LastUpdateStatusInProgress && fn.State != types.StatePending {
			return fn, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("function %s: an update is still in progress: %w", name, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}
