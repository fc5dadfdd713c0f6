package lambdas

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// SetConcurrency sets the function's reserved concurrency to n, or removes
// the reservation when n is negative (the function then shares the
// account's unreserved pool). 0 throttles every invocation, however well
// it is signed.
func (c *Client) SetConcurrency(ctx context.Context, projectID string, n int) error {
	name := aws.String(FunctionName(projectID))
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

// Concurrency is the function's reserved concurrency, -1 for none.
func (c *Client) Concurrency(ctx context.Context, projectID string) (int, error) {
	name := aws.String(FunctionName(projectID))
	out, err := c.API.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: name})
	if err != nil {
		return 0, fmt.Errorf("reading the reserved concurrency of %s: %w", *name, err)
	}
	if out.ReservedConcurrentExecutions == nil {
		return -1, nil
	}
	return int(*out.ReservedConcurrentExecutions), nil
}
