package platform

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

type OutputsProps struct {
	Databases     *Databases
	Bootstrap     *PlatformBootstrap
	LoadBalancers *LoadBalancers
	Secrets       *PlatformSecrets
	Observability *Observability
	StudioAuth    *StudioAuth
	// EndUserPool is nil unless configured.
	EndUserPool *EndUserPool
}

// NewOutputs publishes what an operator needs after a deploy. Secret values
// are never outputs; secret ARNs are.
func NewOutputs(scope constructs.Construct, id string, props *OutputsProps) constructs.Construct {
	this := constructs.NewConstruct(scope, jsii.String(id))
	out := func(name, description string, value *string) {
		awscdk.NewCfnOutput(this, jsii.String(name), &awscdk.CfnOutputProps{Description: jsii.String(description), Value: value})
	}
	out("ApiUrl", "Public API (Kong): https://<project>.<domain>/rest/v1/… with a domain, this URL with X-Project-ID without", props.LoadBalancers.KongURL)
	out("StudioUrl", "Supabase Studio (reachable from adminCidrs only)", props.LoadBalancers.StudioURL)
	out("ManagerUrl", "tenant-manager management API (reachable from adminCidrs only): POST /project/create-pgrest-lambda", props.LoadBalancers.ManagerURL)
	if a := props.StudioAuth; a.UserPool != nil {
		out("StudioUserPoolId", "Cognito user pool of Studio's operators: aws cognito-idp admin-create-user --user-pool-id <this> --username <email>", a.UserPool.UserPoolId())
	} else {
		out("StudioPasswordSecretArn", "Studio's HTTP Basic password (user supabase): aws secretsmanager get-secret-value --secret-id <this>", a.Password.SecretArn())
	}
	if p := props.EndUserPool; p != nil {
		out("EndUserPoolIssuer", "OIDC issuer of the end-user pool: register it on a project as third-party auth (oidc_issuer_url)", p.Issuer())
		out("EndUserPoolClientId", "App client id of the end-user pool (public, no secret): the aud of its ID tokens, the client_id of its access tokens", p.Client.UserPoolClientId())
	}
	out("AdminTokenSecretArn", "Secrets Manager ARN of the tenant-manager admin token: aws secretsmanager get-secret-value --secret-id <this>", props.Secrets.AdminToken.SecretArn())
	out("AlarmTopicArn", "SNS topic of the platform alarms: subscribe your on-call tooling", props.Observability.Topic.TopicArn())
	p := props.Databases.Primary
	out("PrimaryEndpoint", "Platform PostgreSQL (databases kong, supabase_platform) host:port", endpoint(p))
	out("PrimarySecretArn", "Secrets Manager ARN of the platform database master credentials", p.Instance.Secret().SecretArn())
	for _, w := range props.Databases.Workers {
		out("Worker"+constructID(w.ID)+"Endpoint", fmt.Sprintf("Tenant PostgreSQL worker %s host:port", w.ID), endpoint(w))
	}
	out("DbAdminFunctionName", "db-admin Lambda: aws lambda invoke --function-name <this> --payload '{\"operation\":\"list_databases\"}'", props.Bootstrap.Function.FunctionName())
	out("KongDbSecretArn", "Secrets Manager ARN of the kong database login", props.Bootstrap.KongSecret.SecretArn())
	out("TenantManagerDbSecretArn", "Secrets Manager ARN of the tenant_manager database login", props.Bootstrap.TenantManagerSecret.SecretArn())
	return this
}

func endpoint(d Database) *string {
	return awscdk.Fn_Join(jsii.String(":"), &[]*string{d.Instance.DbInstanceEndpointAddress(), d.Instance.DbInstanceEndpointPort()})
}
