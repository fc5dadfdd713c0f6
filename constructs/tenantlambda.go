package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

type TenantLambdaProps struct {
	ServicesDir string
}

// TenantLambda is the PostgREST image every tenant function runs. The
// functions themselves are created at run time by the tenant-manager; the
// stack only builds the image and hands its URI over.
type TenantLambda struct {
	constructs.Construct
	Image awsecrassets.DockerImageAsset
}

func NewTenantLambda(scope constructs.Construct, id string, props *TenantLambdaProps) *TenantLambda {
	this := constructs.NewConstruct(scope, jsii.String(id))
	image := NewImageAsset(this, "Image", props.ServicesDir, "postgrest-lambda")
	return &TenantLambda{Construct: this, Image: image}
}
