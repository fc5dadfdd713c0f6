// Command db-admin is the db-admin Lambda (see docs/architecture.md).
//
// Environment: INSTANCES (JSON object: instance name → master secret ARN,
// e.g. {"primary": "arn:…", "supabase-worker-01": "arn:…"}), DB_SSLMODE
// (require, verify-ca or verify-full; default require), DB_SSLROOTCERT, and
// ROTATION_CONSUMERS (optional JSON object: secret ARN → [{cluster,
// service}], the ECS services to redeploy when that secret has rotated).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/supabase-on-aws/supabase-on-aws/services/db-admin/internal/admin"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := newHandler(context.Background(), logger)
	if err != nil {
		logger.Error("db-admin cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Invoke)
}

func newHandler(ctx context.Context, logger *slog.Logger) (*admin.Handler, error) {
	instances := map[string]string{}
	if err := json.Unmarshal([]byte(os.Getenv("INSTANCES")), &instances); err != nil || len(instances) == 0 {
		return nil, fmt.Errorf("INSTANCES: must be a JSON object of instance name to master secret ARN, e.g. {\"primary\": \"arn:aws:secretsmanager:…\"}")
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	var redeploy *admin.Redeployer
	if v := os.Getenv("ROTATION_CONSUMERS"); v != "" {
		consumers := map[string][]admin.ServiceRef{}
		if err := json.Unmarshal([]byte(v), &consumers); err != nil {
			return nil, fmt.Errorf("ROTATION_CONSUMERS: must be a JSON object of secret ARN to [{\"cluster\": …, \"service\": …}]")
		}
		redeploy = &admin.Redeployer{ECS: ecs.NewFromConfig(awsCfg), Consumers: consumers}
	}
	return &admin.Handler{
		Redeploy: redeploy,
		Admin: &admin.Admin{
			Secrets:   secretsmanager.NewFromConfig(awsCfg),
			Instances: instances,
			TLS:       admin.TLS{Mode: os.Getenv("DB_SSLMODE"), RootCert: os.Getenv("DB_SSLROOTCERT")},
		},
		Log: logger,
	}, nil
}
