package lambdas

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// SetConcurrency sets the functions Lambda's reserved concurrency to n, or
// removes the reservation when n is negative. 0 throttles every
// invocation, which is how a paused project's functions are stopped.
func (c *EdgeClient) SetConcurrency(ctx context.Context, projectID string, n int) error {
	name := aws.String(EdgeFunctionName(projectID))
	if n < 0 {
		if _, err := c.API.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: name}); err != nil {
			return fmt.Errorf("removing the reserved concurrency of %s: %w", *name, err)
		}
		return nil
	}
	if _, err := c.API.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: name, ReservedConcurrentExecutions: aws.Int32(int32(n))}); err != nil {
		return fmt.Errorf("setting the reserved concurrency of %s to %d: %w", *name, n, err)
	}
	return nil
}

// Concurrency is the functions Lambda's reserved concurrency, -1 for none.
func (c *EdgeClient) Concurrency(ctx context.Context, projectID string) (int, error) {
	name := aws.String(EdgeFunctionName(projectID))
	out, err := c.API.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: name})
	if err != nil {
		return 0, fmt.Errorf("reading the reserved concurrency of %s: %w", *name, err)
	}
	if out.ReservedConcurrentExecutions == nil {
		return -1, nil
	}
	return int(*out.ReservedConcurrentExecutions), nil
}

// RunningConcurrency is the reserved concurrency a running project's
// functions Lambda gets: FUNCTIONS_LAMBDA_RESERVED_CONCURRENCY, or -1 (none)
// when it is 0.
func (c *EdgeClient) RunningConcurrency() int {
	if c.Settings.ReservedConcurrency > 0 {
		return c.Settings.ReservedConcurrency
	}
	return -1
}
