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

// EdgeSettings are the same for every project's functions Lambda.
type EdgeSettings struct {
	ImageURI         string
	RoleARN          string
	SubnetIDs        []string
	SecurityGroupIDs []string
	MemoryMiB        int32
	TimeoutSeconds   int32
	// ReservedConcurrency > 0 is reserved for each functions Lambda.
	ReservedConcurrency int
	ConfigServiceURL    string
	STSEndpoint         string
	ActiveTimeout       time.Duration
	RecycleTimeout      time.Duration
	PollInterval        time.Duration
}

// EdgeClient manages the projects' functions Lambdas (functions-{id}).
type EdgeClient struct {
	API      API
	Settings EdgeSettings
}

// EdgeFunctionName is the project's functions Lambda: functions-{id}.
func EdgeFunctionName(projectID string) string { return "functions-" + projectID }

func (c *EdgeClient) base() *Client {
	return &Client{API: c.API, Settings: Settings{PollInterval: c.Settings.PollInterval, RecycleTimeout: c.Settings.RecycleTimeout}}
}

// Ensure makes the function if it does not exist, waits until it is
// Active and gives it its AWS_IAM URL. Every step accepts what exists
// already, so a retried first deploy completes a half-made function.
func (c *EdgeClient) Ensure(ctx context.Context, projectID string) (Function, error) {
	s := c.Settings
	name := EdgeFunctionName(projectID)
	spec := s.Spec(projectID)
	_, err := c.API.CreateFunction(ctx, spec.CreateInput(projectID))
	var conflict *types.ResourceConflictException
	if err != nil && !errors.As(err, &conflict) {
		return Function{}, fmt.Errorf("creating function %s: %w", name, err)
	}
	out, err := waitActive(ctx, c.API, name, s.ActiveTimeout)
	if err != nil {
		return Function{Name: name}, err
	}
	fn := Function{Name: name, ARN: aws.ToString(out.Configuration.FunctionArn)}
	u, err := c.API.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(name)})
	switch {
	case err == nil:
		if u.AuthType != types.FunctionUrlAuthTypeAwsIam {
			return fn, fmt.Errorf("function %s has a URL whose auth type is %s, not AWS_IAM", name, u.AuthType)
		}
		fn.URL = aws.ToString(u.FunctionUrl)
	case IsNotFound(err):
		nu, err := c.API.CreateFunctionUrlConfig(ctx, spec.URLInput(projectID))
		if err != nil {
			return fn, fmt.Errorf("creating the URL of %s: %w", name, err)
		}
		fn.URL = aws.ToString(nu.FunctionUrl)
	default:
		return fn, fmt.Errorf("reading the URL of %s: %w", name, err)
	}
	if s.ReservedConcurrency > 0 {
		if _, err := c.API.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name),
			ReservedConcurrentExecutions: aws.Int32(int32(s.ReservedConcurrency))}); err != nil {
			return fn, fmt.Errorf("setting the reserved concurrency of %s: %w", name, err)
		}
	}
	return fn, nil
}

// Delete removes the URL and the function; missing ones are fine.
func (c *EdgeClient) Delete(ctx context.Context, projectID string) error {
	return deleteFunction(ctx, c.API, EdgeFunctionName(projectID))
}

// Recycle makes new instances serve the current versions and secrets: it
// changes CONFIG_GENERATION and waits until the update succeeded, so every
// invocation after it runs in an instance that fetched its configuration
// afterwards. Conflicting updates are waited out and retried within
// RecycleTimeout (default 3 min).
func (c *EdgeClient) Recycle(ctx context.Context, projectID string) error {
	return c.base().recycle(ctx, EdgeFunctionName(projectID))
}
