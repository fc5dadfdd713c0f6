package platform

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrds"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/supabase-on-aws/supabase-on-aws/config"
)

// servicesDir is where the services' sibling modules are, seen from this
// package's directory (go test runs in it).
const servicesDir = "../services"

// The imported VPC's subnets, two AZs per tier, named as Network names its
// subnet groups so that PublicSubnets, PrivateSubnets and IsolatedSubnets
// select them.
var (
	testAZs          = []string{"us-east-1a", "us-east-1b"}
	publicSubnetIDs  = []string{"subnet-0a00000000000001a", "subnet-0a00000000000001b"}
	privateSubnetIDs = []string{"subnet-0a00000000000002a", "subnet-0a00000000000002b"}
	isolatedSubnetID = []string{"subnet-0a00000000000003a", "subnet-0a00000000000003b"}
)

const testVpcID = "vpc-0123456789abcdef0"

// newStack is a stack of its own app, in us-east-1 and with no account, as
// the platform's default configuration deploys (the ALB access-log grant
// needs a known region).
func newStack(t *testing.T) awscdk.Stack {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &map[string]any{"aws:cdk:bundling-stacks": []string{}},
		Outdir:  jsii.String(t.TempDir()),
	})
	return awscdk.NewStack(app, jsii.String("Test"), &awscdk.StackProps{
		Env: &awscdk.Environment{Region: jsii.String("us-east-1")},
	})
}

// importedVpc keeps stacks small: no VPC resources, only subnet ids.
func importedVpc(stack awscdk.Stack) awsec2.IVpc {
	return awsec2.Vpc_FromVpcAttributes(stack, jsii.String("Vpc"), &awsec2.VpcAttributes{
		VpcId:               jsii.String(testVpcID),
		VpcCidrBlock:        jsii.String("10.0.0.0/16"),
		AvailabilityZones:   jsii.Strings(testAZs...),
		PublicSubnetIds:     jsii.Strings(publicSubnetIDs...),
		PublicSubnetNames:   jsii.Strings(SubnetPublic),
		PrivateSubnetIds:    jsii.Strings(privateSubnetIDs...),
		PrivateSubnetNames:  jsii.Strings(SubnetPrivate),
		IsolatedSubnetIds:   jsii.Strings(isolatedSubnetID...),
		IsolatedSubnetNames: jsii.Strings(SubnetIsolated),
	})
}

func importedSG(stack awscdk.Stack, id, sgID string) awsec2.ISecurityGroup {
	return awsec2.SecurityGroup_FromSecurityGroupId(stack, jsii.String(id), jsii.String(sgID), nil)
}

// testInstance is a small real RDS instance, for constructs that take the
// concrete type (they read its generated master secret).
func testInstance(stack awscdk.Stack, id string, vpc awsec2.IVpc, sg awsec2.ISecurityGroup) awsrds.DatabaseInstance {
	return awsrds.NewDatabaseInstance(stack, jsii.String(id), &awsrds.DatabaseInstanceProps{
		Engine:         awsrds.DatabaseInstanceEngine_Postgres(&awsrds.PostgresInstanceEngineProps{Version: awsrds.PostgresEngineVersion_VER_16()}),
		Vpc:            vpc,
		VpcSubnets:     IsolatedSubnets(),
		SecurityGroups: &[]awsec2.ISecurityGroup{sg},
		Credentials:    awsrds.Credentials_FromGeneratedSecret(jsii.String(MasterUsername), nil),
		RemovalPolicy:  awscdk.RemovalPolicy_DESTROY,
	})
}

// testService is a minimal Fargate service from a registry image.
func testService(stack awscdk.Stack, id string, cluster awsecs.ICluster) awsecs.FargateService {
	task := awsecs.NewFargateTaskDefinition(stack, jsii.String(id+"Task"), nil)
	task.AddContainer(jsii.String("App"), &awsecs.ContainerDefinitionOptions{
		Image: awsecs.ContainerImage_FromRegistry(jsii.String("public.ecr.aws/docker/library/busybox:1.36"), nil),
	})
	return awsecs.NewFargateService(stack, jsii.String(id), &awsecs.FargateServiceProps{Cluster: cluster, TaskDefinition: task})
}

// tmpl is a synthesized stack: the assertions template and its JSON.
type tmpl struct {
	assertions.Template
	json map[string]any
}

func synth(t *testing.T, stack awscdk.Stack) *tmpl {
	t.Helper()
	var tpl assertions.Template
	try(t, func() { tpl = assertions.Template_FromStack(stack, nil) })
	if tpl == nil {
		t.FailNow()
	}
	return &tmpl{Template: tpl, json: toMap(t, tpl.ToJSON())}
}

// try turns a failed assertion (jsii raises it as a panic) into a test
// error, so that one failure does not end the whole test binary.
func try(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Helper()
			t.Errorf("%v", r)
		}
	}()
	f()
}

func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func toJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

func (x *tmpl) has(t *testing.T, typ string, props any) {
	t.Helper()
	try(t, func() { x.HasResourceProperties(jsii.String(typ), props) })
}

func (x *tmpl) hasResource(t *testing.T, typ string, props any) {
	t.Helper()
	try(t, func() { x.HasResource(jsii.String(typ), props) })
}

func (x *tmpl) allHave(t *testing.T, typ string, props any) {
	t.Helper()
	try(t, func() { x.AllResourcesProperties(jsii.String(typ), props) })
}

func (x *tmpl) count(t *testing.T, typ string, n int) {
	t.Helper()
	try(t, func() { x.ResourceCountIs(jsii.String(typ), jsii.Number(n)) })
}

func (x *tmpl) countWith(t *testing.T, typ string, props any, n int) {
	t.Helper()
	try(t, func() { x.ResourcePropertiesCountIs(jsii.String(typ), props, jsii.Number(n)) })
}

func (x *tmpl) hasOutput(t *testing.T, id string, props any) {
	t.Helper()
	try(t, func() { x.HasOutput(jsii.String(id), props) })
}

// resources are the template's resources of a type, by logical id.
func (x *tmpl) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range x.json["Resources"].(map[string]any) {
		if res := r.(map[string]any); res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// only is the logical id of the one resource of a type whose properties
// match props.
func (x *tmpl) only(t *testing.T, typ string, props any) string {
	t.Helper()
	var found map[string]map[string]any
	try(t, func() {
		found = toMapOfMaps(t, x.FindResources(jsii.String(typ), map[string]any{"Properties": props}))
	})
	if len(found) != 1 {
		t.Fatalf("want one %s matching %s, found %d", typ, toJSON(props), len(found))
	}
	for id := range found {
		return id
	}
	return ""
}

func toMapOfMaps(t *testing.T, v *map[string]*map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, m := range toMap(t, v) {
		out[k] = m.(map[string]any)
	}
	return out
}

func (x *tmpl) resource(t *testing.T, id string) map[string]any {
	t.Helper()
	r, ok := x.json["Resources"].(map[string]any)[id].(map[string]any)
	if !ok {
		t.Fatalf("no resource %s", id)
	}
	return r
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// container is the container definition of that name.
func (x *tmpl) container(t *testing.T, name string) map[string]any {
	t.Helper()
	for _, td := range x.resources("AWS::ECS::TaskDefinition") {
		for _, c := range props(td)["ContainerDefinitions"].([]any) {
			if c := c.(map[string]any); c["Name"] == name {
				return c
			}
		}
	}
	t.Fatalf("no container %s", name)
	return nil
}

// envOf and secretsOf index a container's environment and secrets by name.
func envOf(c map[string]any) map[string]any     { return byName(c["Environment"], "Value") }
func secretsOf(c map[string]any) map[string]any { return byName(c["Secrets"], "ValueFrom") }

func byName(list any, field string) map[string]any {
	out := map[string]any{}
	items, _ := list.([]any)
	for _, i := range items {
		m := i.(map[string]any)
		out[m["Name"].(string)] = m[field]
	}
	return out
}

// Matcher shorthands.
func like(m map[string]any) assertions.Matcher  { return assertions.Match_ObjectLike(&m) }
func arrayWith(items ...any) assertions.Matcher { return assertions.Match_ArrayWith(&items) }
func absent() assertions.Matcher                { return assertions.Match_Absent() }
func not(p any) assertions.Matcher              { return assertions.Match_Not(p) }
func capture() assertions.Capture               { return assertions.NewCapture(nil) }

func ref(id string) map[string]any { return map[string]any{"Ref": id} }
func getAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}

// refOf is the logical id a captured {"Ref": id} names.
func refOf(t *testing.T, c assertions.Capture) string {
	t.Helper()
	var id string
	try(t, func() {
		if r, ok := (*c.AsObject())["Ref"].(*string); ok {
			id = *r
		} else if r, ok := (*c.AsObject())["Ref"].(string); ok {
			id = r
		}
	})
	if id == "" {
		t.Fatalf("captured value is not a Ref")
	}
	return id
}

// getAttOf is the logical id a captured {"Fn::GetAtt": [id, attr]} names.
func getAttOf(t *testing.T, c assertions.Capture) string {
	t.Helper()
	var ga []any
	try(t, func() {
		ga, _ = toMap(t, c.AsObject())["Fn::GetAtt"].([]any)
	})
	if len(ga) != 2 {
		t.Fatalf("captured value is not a GetAtt")
	}
	return ga[0].(string)
}

// joined flattens an Fn::Join into text, writing references as {Ref:id}
// and {GetAtt:id.attr} so that tests can look for both.
func joined(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if j, ok := v["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, joined(p))
			}
			return strings.Join(parts, j[0].(string))
		}
		if r, ok := v["Ref"].(string); ok {
			return "{Ref:" + r + "}"
		}
		if ga, ok := v["Fn::GetAtt"].([]any); ok {
			return fmt.Sprintf("{GetAtt:%s.%s}", ga[0], ga[1])
		}
	}
	return toJSON(v)
}

// suppressed lists the cdk-nag rules suppressed in a resource's metadata.
func suppressed(r map[string]any) []string {
	var out []string
	md, _ := r["Metadata"].(map[string]any)
	nag, _ := md["cdk_nag"].(map[string]any)
	rules, _ := nag["rules_to_suppress"].([]any)
	for _, s := range rules {
		out = append(out, s.(map[string]any)["id"].(string))
	}
	return out
}

func matches(re string) assertions.Matcher { return assertions.Match_StringLikeRegexp(jsii.String(re)) }
func anyValue() assertions.Matcher         { return assertions.Match_AnyValue() }

// serviceDeps are what every Fargate service construct takes.
type serviceDeps struct {
	vpc     awsec2.IVpc
	cluster *Cluster
	logs    awslogs.ILogGroup
}

func newServiceDeps(stack awscdk.Stack) serviceDeps {
	vpc := importedVpc(stack)
	return serviceDeps{
		vpc:     vpc,
		cluster: NewCluster(stack, "Cluster", &ClusterProps{Vpc: vpc}),
		logs:    awslogs.LogGroup_FromLogGroupName(stack, jsii.String("Logs"), jsii.String("/ecs/supabase")),
	}
}

func (d serviceDeps) targets(stack awscdk.Stack, port int) elb.ApplicationTargetGroup {
	return elb.NewApplicationTargetGroup(stack, jsii.String(fmt.Sprint("Targets", port)), &elb.ApplicationTargetGroupProps{
		Vpc: d.vpc, Port: jsii.Number(port), Protocol: elb.ApplicationProtocol_HTTP, TargetType: elb.TargetType_IP,
	})
}

// taskRole is a new role that ECS tasks may assume.
func taskRole(stack awscdk.Stack) awsiam.Role {
	return awsiam.NewRole(stack, jsii.String("Role"), &awsiam.RoleProps{AssumedBy: awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil)})
}

var testSizing = config.Service{CPU: 256, MemoryMiB: 512, DesiredCount: 1}

// importedInstance is an existing RDS instance: its endpoint is all that
// the services read from it.
func importedInstance(stack awscdk.Stack, id, host string) awsrds.IDatabaseInstance {
	return awsrds.DatabaseInstance_FromDatabaseInstanceAttributes(stack, jsii.String(id), &awsrds.DatabaseInstanceAttributes{
		InstanceIdentifier: jsii.String(id), InstanceEndpointAddress: jsii.String(host), Port: jsii.Number(5432),
		SecurityGroups: &[]awsec2.ISecurityGroup{},
	})
}

func importedSecret(stack awscdk.Stack, id, name string) awssecretsmanager.ISecret {
	return awssecretsmanager.Secret_FromSecretCompleteArn(stack, jsii.String(id),
		jsii.String("arn:aws:secretsmanager:us-east-1:111111111111:secret:"+name+"-AbCdEf"))
}

func secretArn(name string) string {
	return "arn:aws:secretsmanager:us-east-1:111111111111:secret:" + name + "-AbCdEf"
}

// tenantFunctionsArnText is TenantFunctionsArn as joined renders it.
const tenantFunctionsArnText = "arn:{Ref:AWS::Partition}:lambda:{Ref:AWS::Region}:{Ref:AWS::AccountId}:function:postgrest-*"

// logicalID is the logical id of a construct's CloudFormation resource.
func logicalID(stack awscdk.Stack, c constructs.IConstruct) string {
	if res, ok := c.Node().DefaultChild().(awscdk.CfnElement); ok {
		return *stack.GetLogicalId(res)
	}
	return *stack.GetLogicalId(c.(awscdk.CfnElement))
}

func strPtr(s string) *string { return &s }

// nonEmpty gives a stack whose construct makes no resource one, so that
// synthesis does not warn about an empty template.
func nonEmpty(stack awscdk.Stack) {
	awscdk.NewCfnResource(stack, jsii.String("Placeholder"), &awscdk.CfnResourceProps{Type: jsii.String("AWS::CloudFormation::WaitConditionHandle")})
}

// secretOfUser is the properties of the generated secret whose template
// names that user, and the template as joined renders it.
func (x *tmpl) secretOfUser(t *testing.T, user string) (map[string]any, string) {
	t.Helper()
	for _, s := range x.resources("AWS::SecretsManager::Secret") {
		p := props(s)
		gen, _ := p["GenerateSecretString"].(map[string]any)
		if tpl := joined(gen["SecretStringTemplate"]); strings.Contains(tpl, `"username":"`+user+`"`) {
			return p, tpl
		}
	}
	t.Fatalf("no secret for user %s", user)
	return nil, ""
}

func ptr[T any](v T) *T { return &v }
