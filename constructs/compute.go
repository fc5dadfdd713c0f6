package platform

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

type ComputeProps struct {
	LogRetention awslogs.RetentionDays
}

// Compute groups the platform's Fargate services (kong.go,
// tenantmanager.go, studio.go, functions.go, postgresmeta.go, each built on
// ContainerService) and holds the log group they share, /ecs/supabase, one
// stream prefix per service.
type Compute struct {
	constructs.Construct
	LogGroup awslogs.LogGroup
}

func NewCompute(scope constructs.Construct, id string, props *ComputeProps) *Compute {
	this := constructs.NewConstruct(scope, jsii.String(id))
	logs := awslogs.NewLogGroup(this, jsii.String("Logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/ecs/supabase"),
		Retention:     props.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	return &Compute{Construct: this, LogGroup: logs}
}

// Discovery is the URL of a service registered in the Cloud Map namespace.
func Discovery(name string, port int) *string {
	return jsii.String(fmt.Sprintf("http://%s.%s:%d", name, Namespace, port))
}

// STSEndpoint is the regional STS endpoint that callers sign their
// caller-identity requests for, and the tenant-manager verifies them at.
func STSEndpoint() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://sts."), awscdk.Aws_REGION(), jsii.String("."), awscdk.Aws_URL_SUFFIX()})
}

func num(n int) *string { return jsii.String(fmt.Sprint(n)) }
