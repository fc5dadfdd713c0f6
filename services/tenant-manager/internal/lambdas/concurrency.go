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
	return setConcurrency(ctx, c.API, FunctionName(projectID), n)
}

// Concurrency is the function's reserved concurrency, -1 for none.
func (c *Client) Concurrency(ctx context.Context, projectID string) (int, error) {
	return concurrency(ctx, c.API, FunctionName(projectID))
}

// setConcurrency and concurrency serve both kinds of tenant function
// (postgrest-{id} and functions-{id}).
func setConcurrency(ctx context.Context, api API, function string, n int) error {
	name := aws.String(function)
	if n < 0 {
		if _, err := api.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: name}); err != nil {
			return fmt.Errorf("removing the reserved concurrency of %s: %w", function, err)
		}
		return nil
	}
	if _, err := api.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: name, ReservedConcurrentExecutions: aws.Int32(int32(n))}); err != nil {
		return fmt.Errorf("setting the reserved concurrency of %s to %d: %w", function, n, err)
	}
	return nil
}

func concurrency(ctx context.Context, api API, function string) (int, error) {
	out, err := api.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(function)})
	if err != nil {
		return 0, fmt.Errorf("reading the reserved concurrency of %s: %w", function, err)
	}
	if out.ReservedConcurrentExecutions == nil {
		return -1, nil
	}
	return int(*out.ReservedConcurrentExecutions), nil
}
