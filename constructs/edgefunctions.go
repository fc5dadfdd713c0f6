package platform

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

type EdgeFunctionsProps struct {
	ServicesDir string
	// AccessLogs receives the bundle bucket's server access logs.
	AccessLogs awss3.IBucket
	// NoncurrentDays is how long a replaced or deleted bundle is kept.
	NoncurrentDays int
}

// EdgeFunctions is what each project's functions Lambda (functions-{id},
// made by the tenant-manager on the project's first deploy) is built from:
// the runtime image (Deno, the Lambda Web Adapter and a bootstrap) and the
// bucket of the projects' function bundles.
//
// The bucket is private and readable by the tenant-manager only: a
// function reads its own project's bundles through short-lived presigned
// URLs the tenant-manager hands its bootstrap, so no function's
// credentials can read another project's code.
type EdgeFunctions struct {
	constructs.Construct
	Image   awsecrassets.DockerImageAsset
	Bundles awss3.Bucket
}

func NewEdgeFunctions(scope constructs.Construct, id string, props *EdgeFunctionsProps) *EdgeFunctions {
	this := constructs.NewConstruct(scope, jsii.String(id))
	image := NewImageAsset(this, "Image", props.ServicesDir, "functions-runtime")
	key := newKey(this, "edge function bundles")
	bundles := awss3.NewBucket(this, jsii.String("Bundles"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_KMS,
		EncryptionKey:     key,
		BucketKeyEnabled:  jsii.Bool(true),
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:         jsii.Bool(true),
		// Tenants' code is state: a stack deletion keeps it.
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		ServerAccessLogsBucket: props.AccessLogs,
		ServerAccessLogsPrefix: jsii.String("function-bundles/"),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("expire-replaced-bundles"),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(props.NoncurrentDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
			ExpiredObjectDeleteMarker:           jsii.Bool(true),
		}},
	})
	return &EdgeFunctions{Construct: this, Image: image, Bundles: bundles}
}
