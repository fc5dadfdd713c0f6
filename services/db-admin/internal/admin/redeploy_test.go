package admin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/require"
)

func ecsClient() *ecs.Client {
	return ecs.New(ecs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(motoURL),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
}

// ecsService creates a cluster service in moto and returns a function
// reading its current deployment id.
func ecsService(t *testing.T, c *ecs.Client, cluster, name string) func() string {
	t.Helper()
	ctx := context.Background()
	_, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)})
	require.NoError(t, err)
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(name),
		ContainerDefinitions:    []ecstypes.ContainerDefinition{{Name: aws.String(name), Image: aws.String("public.ecr.aws/docker/library/busybox:1.36"), Memory: aws.Int32(128)}},
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
	})
	require.NoError(t, err)
	_, err = c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String(name), TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1)})
	require.NoError(t, err)
	return func() string {
		out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
		require.NoError(t, err)
		require.Len(t, out.Services, 1)
		require.NotEmpty(t, out.Services[0].Deployments)
		return aws.ToString(out.Services[0].Deployments[0].Id)
	}
}

// rotationEvent is a RotationSucceeded event as EventBridge delivers it from
// CloudTrail (detail-type "AWS Service Event via CloudTrail").
func rotationEvent(t *testing.T, name, secretID string) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(map[string]any{
		"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "AWS Service Event via CloudTrail",
		"source": "aws.secretsmanager", "account": "123456789012", "time": "2026-11-23T10:00:00Z", "region": "us-east-1", "resources": []string{},
		"detail": map[string]any{
			"eventVersion": "1.08", "eventSource": "secretsmanager.amazonaws.com", "eventName": name, "eventType": "AwsServiceEvent",
			"awsRegion": "us-east-1", "additionalEventData": map[string]any{"SecretId": secretID},
		},
	})
	require.NoError(t, err)
	return raw
}

func TestRedeployAfterRotation(t *testing.T) {
	c := ecsClient()
	kong := ecsService(t, c, "redeploy", "kong")
	meta := ecsService(t, c, "redeploy", "postgres-meta")
	other := ecsService(t, c, "redeploy", "studio")
	kongSecret := "arn:aws:secretsmanager:us-east-1:123456789012:secret:KongSecret-AbCdEf"
	metaSecret := "arn:aws:secretsmanager:us-east-1:123456789012:secret:PostgresMetaLogin-GhIjKl"
	h := &Handler{Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Redeploy: &Redeployer{ECS: c, Consumers: map[string][]ServiceRef{
		kongSecret: {{Cluster: "redeploy", Service: "kong"}},
		metaSecret: {{Cluster: "redeploy", Service: "postgres-meta"}},
	}}}
	k0, m0, o0 := kong(), meta(), other()

	// A failed rotation, or one of a secret nobody consumes, redeploys nothing.
	_, err := h.Invoke(context.Background(), rotationEvent(t, "RotationFailed", kongSecret))
	require.NoError(t, err)
	_, err = h.Invoke(context.Background(), rotationEvent(t, "RotationSucceeded", "arn:aws:secretsmanager:us-east-1:123456789012:secret:Unrelated-MnOpQr"))
	require.NoError(t, err)
	require.Equal(t, []string{k0, m0, o0}, []string{kong(), meta(), other()})

	// The event may name the secret by ARN or by name.
	out, err := h.Invoke(context.Background(), rotationEvent(t, "RotationSucceeded", kongSecret))
	require.NoError(t, err)
	require.Equal(t, RedeployResult{Secret: kongSecret, Redeployed: []string{"kong"}}, out)
	k1 := kong()
	require.NotEqual(t, k0, k1, "kong was not redeployed")
	require.Equal(t, m0, meta())
	_, err = h.Invoke(context.Background(), rotationEvent(t, "RotationSucceeded", "PostgresMetaLogin"))
	require.NoError(t, err)
	require.NotEqual(t, m0, meta(), "postgres-meta was not redeployed")
	require.Equal(t, k1, kong())
	require.Equal(t, o0, other(), "a service that consumes no rotated secret was redeployed")

	// A service that cannot be updated is an error, so Lambda retries.
	h.Redeploy.Consumers[kongSecret] = append(h.Redeploy.Consumers[kongSecret], ServiceRef{Cluster: "redeploy", Service: "gone"})
	_, err = h.Invoke(context.Background(), rotationEvent(t, "RotationSucceeded", kongSecret))
	require.ErrorContains(t, err, "redeploying gone")
	require.NotEqual(t, k1, kong(), "one failing service must not stop the others")

	// Without consumers configured, a rotation event is an error, not a no-op.
	_, err = (&Handler{Log: h.Log}).Invoke(context.Background(), rotationEvent(t, "RotationSucceeded", kongSecret))
	require.ErrorContains(t, err, "ROTATION_CONSUMERS")
}

func TestSameSecret(t *testing.T) {
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:KongSecret-AbCdEf"
	for id, want := range map[string]bool{
		arn: true, "arn:aws:secretsmanager:us-east-1:123456789012:secret:KongSecret": true, "KongSecret": true,
		"Kong": false, "KongSecret-AbCdEg": false, "arn:aws:secretsmanager:us-east-1:123456789012:secret:Other": false,
	} {
		require.Equal(t, want, sameSecret(arn, id), id)
	}
}
