package platform

import (
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppression is one accepted cdk-nag finding and why this design accepts it.
type suppression struct {
	rule   string
	reason string
}

// suppress records accepted AwsSolutions findings on a construct and its
// children, each with the reason that a reviewer reads in the template.
func suppress(construct any, s ...suppression) {
	list := make([]*cdknag.NagPackSuppression, 0, len(s))
	for _, x := range s {
		list = append(list, &cdknag.NagPackSuppression{
			Id:     jsii.String("AwsSolutions-" + x.rule),
			Reason: jsii.String(x.reason),
		})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &list, jsii.Bool(true))
}
