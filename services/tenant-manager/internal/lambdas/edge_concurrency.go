package lambdas

import "context"

// SetConcurrency sets the functions Lambda's reserved concurrency to n, or
// removes the reservation when n is negative. 0 throttles every
// invocation, which is how a paused project's functions are stopped.
func (c *EdgeClient) SetConcurrency(ctx context.Context, projectID string, n int) error {
	return setConcurrency(ctx, c.API, EdgeFunctionName(projectID), n)
}

// Concurrency is the functions Lambda's reserved concurrency, -1 for none.
func (c *EdgeClient) Concurrency(ctx context.Context, projectID string) (int, error) {
	return concurrency(ctx, c.API, EdgeFunctionName(projectID))
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
