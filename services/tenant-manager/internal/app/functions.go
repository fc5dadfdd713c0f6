package app

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/bundles"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/callerid"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/config"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/lambdas"
	"github.com/supabase-on-aws/supabase-on-aws/services/tenant-manager/internal/provision"
)

// wireFunctions enables edge functions when FUNCTIONS_BUCKET is set: the
// bundle bucket, the per-project functions Lambdas and the role whose
// sessions read the runtime configuration.
func (a *App) wireFunctions(cfg *config.Config, awsCfg aws.Config) error {
	f := cfg.Functions
	if !f.Enabled() {
		return nil
	}
	role, ok := callerid.IAMRole(f.RoleARN)
	if !ok {
		return fmt.Errorf("FUNCTIONS_LAMBDA_ROLE_ARN: not an IAM role ARN")
	}
	settings, err := provision.EdgeSettingsFromEnv(f.Env)
	if err != nil {
		return err
	}
	// A custom endpoint (moto, LocalStack) serves buckets by path, not by
	// host name.
	api := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = awsCfg.BaseEndpoint != nil })
	groups := f.SecurityGroupIDs
	if len(groups) == 0 {
		groups = cfg.SecurityGroupIDs
	}
	a.Service.Edge = &provision.EdgeFunctions{
		Storage: &bundles.Store{API: api, Bucket: f.Bucket},
		Runtime: &lambdas.EdgeClient{API: lambda.NewFromConfig(awsCfg), Settings: lambdas.EdgeSettings{
			ImageURI: f.ImageURI, RoleARN: f.RoleARN, SubnetIDs: cfg.SubnetIDs, SecurityGroupIDs: groups,
			MemoryMiB: int32(f.MemoryMiB), TimeoutSeconds: int32(f.TimeoutSeconds), ReservedConcurrency: f.ReservedConcurrency,
			ConfigServiceURL: cfg.ConfigServiceURL, STSEndpoint: cfg.STSEndpoint, ActiveTimeout: cfg.Timeouts.LambdaActive,
		}},
		Settings: settings,
	}
	a.Server.FunctionsRole = role
	return nil
}
