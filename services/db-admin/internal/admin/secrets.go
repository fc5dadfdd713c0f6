// Package admin implements the db-admin Lambda: admin and debug
// operations on the platform's RDS instances, and the CloudFormation custom
// resource that bootstraps the primary.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Credentials is the JSON of an RDS secret as CDK generates it (the master
// secret also carries host and port once attached to the instance).
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
}

// SecretReader reads a secret's string value.
type SecretReader interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// readCredentials reads and checks a credentials secret. Errors name the
// secret and the missing field, never a value.
func readCredentials(ctx context.Context, sm SecretReader, arn string, needEndpoint bool) (Credentials, error) {
	if arn == "" {
		return Credentials{}, errors.New("no secret ARN given")
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return Credentials{}, fmt.Errorf("reading secret %s: %w", arn, err)
	}
	if out.SecretString == nil {
		return Credentials{}, fmt.Errorf("secret %s has no SecretString", arn)
	}
	var c Credentials
	if err := json.Unmarshal([]byte(*out.SecretString), &c); err != nil {
		return Credentials{}, fmt.Errorf("secret %s is not a JSON credentials object", arn)
	}
	missing := ""
	switch {
	case c.Username == "":
		missing = "username"
	case c.Password == "":
		missing = "password"
	case needEndpoint && c.Host == "":
		missing = "host"
	case needEndpoint && c.Port == 0:
		missing = "port"
	}
	if missing != "" {
		return Credentials{}, fmt.Errorf("secret %s has no %s", arn, missing)
	}
	return c, nil
}
