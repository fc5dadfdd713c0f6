package platform

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// MinBootstrapVersion is the CDK bootstrap template version the stack needs:
// the one the pinned CDK CLI installs with `cdk bootstrap`. Its container
// asset repository lets the Lambda service pull images
// (LambdaECRImageRetrievalPolicy), which tenant functions rely on now that
// the tenant-manager may no longer write that shared repository's policy.
const MinBootstrapVersion = 33

// RequireBootstrapVersion makes CloudFormation refuse the deployment, before
// changing anything, when the environment's bootstrap stack is older than
// min, with a message that says what to run. It reads the BootstrapVersion
// parameter the default synthesizer adds to every template.
func RequireBootstrapVersion(stack awscdk.Stack, min int) {
	var older []*string
	for v := 1; v < min; v++ {
		older = append(older, jsii.String(fmt.Sprint(v)))
	}
	awscdk.NewCfnRule(stack, jsii.String("CheckBootstrapVersionForTenantFunctions"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionContains(&older, awscdk.Fn_Ref(jsii.String("BootstrapVersion")))),
			AssertDescription: jsii.String(fmt.Sprintf("Tenant functions need CDK bootstrap version %d or later (its asset repository lets Lambda pull images). "+
				"Run 'cdk bootstrap' with the project's CDK CLI (tools/node_modules/.bin/cdk bootstrap) and deploy again.", min)),
		}},
	})
}
