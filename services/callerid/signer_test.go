package callerid

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"
)

// The Signer asks the provider on every call, so a refreshed credential is
// what signs the next header.
func TestSignerRetrievesOnEveryCall(t *testing.T) {
	sts := roundTripSTS(t)
	now := time.Now().UTC().Truncate(time.Second)
	current := userCreds
	s := &Signer{
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return current, nil }),
		STSEndpoint: sts.srv.URL, Region: "us-east-1",
		Now: func() time.Time { return now },
	}
	v := sts.verifier(func() time.Time { return now })
	for _, tc := range []struct {
		creds aws.Credentials
		arn   string
	}{{userCreds, userARN}, {sessionCreds, sessionARN}} {
		current = tc.creds
		h, err := s.Sign(context.Background())
		require.NoError(t, err)
		arn, err := v.Verify(context.Background(), h)
		require.NoError(t, err)
		require.Equal(t, tc.arn, arn)
	}
}

func TestSignerReportsTheProviderError(t *testing.T) {
	s := &Signer{
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no IMDS")
		}),
		STSEndpoint: "https://sts.us-east-1.amazonaws.com", Region: "us-east-1",
	}
	_, err := s.Sign(context.Background())
	require.EqualError(t, err, "caller identity: retrieving AWS credentials: no IMDS")
}
