// Package loggroups manages tenant functions' CloudWatch log groups
// (/aws/lambda/postgrest-{id}). The tenant-manager creates each one with a
// retention before its function exists: Lambda would otherwise create it
// on the first invocation, without retention, and keep it after the
// function is deleted.
package loggroups

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
)

// ValidRetentionDays are the values CloudWatch Logs accepts.
var ValidRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Name is the log group Lambda writes the tenant function's logs to.
func Name(projectID string) string { return "/aws/lambda/" + lambdas.FunctionName(projectID) }

// Client creates and deletes tenant log groups.
type Client struct {
	API           *cloudwatchlogs.Client
	RetentionDays int
	// Retain keeps log groups when their project is deleted (or its create
	// is undone); they then expire with their retention.
	Retain bool
}

// Ensure creates the log group (an existing one is fine: a retained group
// of an earlier project with the same id, or one Lambda made) and sets its
// retention.
func (c *Client) Ensure(ctx context.Context, projectID string) error {
	name := aws.String(Name(projectID))
	var exists *types.ResourceAlreadyExistsException
	if _, err := c.API.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
		LogGroupName: name,
		Tags:         map[string]string{"project": projectID, "managed-by": "supabase-tenant-manager"},
	}); err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("creating log group %s: %w", *name, err)
	}
	if _, err := c.API.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: name, RetentionInDays: aws.Int32(int32(c.RetentionDays))}); err != nil {
		return fmt.Errorf("setting the retention of log group %s: %w", *name, err)
	}
	return nil
}

// Delete removes the log group unless Retain is set; a missing one is fine.
func (c *Client) Delete(ctx context.Context, projectID string) error {
	if c.Retain {
		return nil
	}
	name := aws.String(Name(projectID))
	var nf *types.ResourceNotFoundException
	if _, err := c.API.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: name}); err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("deleting log group %s: %w", *name, err)
	}
	return nil
}
