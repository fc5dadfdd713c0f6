// Command supabase-on-aws is the CDK app: it loads and validates
// config.json (or the file named by -c config=PATH), builds SupabaseStack
// and synthesizes it.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/supabase-on-aws/supabase-on-aws/config"
	"github.com/supabase-on-aws/supabase-on-aws/stacks"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		jsii.Close()
		os.Exit(1)
	}
	jsii.Close()
}

func run() error {
	app := awscdk.NewApp(nil)
	path := "config.json"
	if v, ok := app.Node().TryGetContext(jsii.String("config")).(string); ok && v != "" {
		path = v
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	stacks.NewSupabaseStack(app, stacks.StackID, &stacks.SupabaseStackProps{Config: cfg})
	// -c nag=true runs the cdk-nag AwsSolutions pack at synth; the test
	// command always runs it.
	if v, ok := app.Node().TryGetContext(jsii.String("nag")).(string); ok && v == "true" {
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	}
	app.Synth(nil)
	return nil
}
