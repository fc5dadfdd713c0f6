package lambdas

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// Status is what Lambda says about a tenant function and its URL.
type Status struct {
	// State is the function's State (Pending, Active, Inactive, Failed)
	// and LastUpdate its LastUpdateStatus (InProgress, Successful, Failed).
	State, LastUpdate, StateReason string
	// URL and URLAuthType are empty when the function has no URL.
	URL, URLAuthType string
}

// Inspect reads the function's state and its URL configuration. A missing
// function is an error for which IsNotFound holds; a missing URL is not.
func (c *Client) Inspect(ctx context.Context, projectID string) (Status, error) {
	name := aws.String(FunctionName(projectID))
	fn, err := c.API.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: name})
	if err != nil {
		return Status{}, fmt.Errorf("reading function %s: %w", *name, err)
	}
	st := Status{State: string(fn.State), LastUpdate: string(fn.LastUpdateStatus), StateReason: aws.ToString(fn.StateReason)}
	u, err := c.API.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: name})
	switch {
	case IsNotFound(err):
	case err != nil:
		return st, fmt.Errorf("reading the URL of %s: %w", *name, err)
	default:
		st.URL, st.URLAuthType = aws.ToString(u.FunctionUrl), string(u.AuthType)
	}
	return st, nil
}
