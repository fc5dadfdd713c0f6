package lambdas

import (
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// GenerationVar is the variable Recycle changes to replace warm instances.
// It is not part of a function's desired state: the reconciler keeps
// whatever value it finds, so it never undoes a JWT rotation's recycle.
const GenerationVar = "CONFIG_GENERATION"

// Spec is everything a tenant function is made with. Create and the
// reconciler both build their requests from it, so a function the
// reconciler calls up to date is one Create would have made.
type Spec struct {
	ImageURI         string            `json:"image_uri"`
	Architecture     string            `json:"architecture"`
	MemoryMiB        int32             `json:"memory_mib"`
	TimeoutSeconds   int32             `json:"timeout_seconds"`
	RoleARN          string            `json:"role_arn"`
	SubnetIDs        []string          `json:"subnet_ids"`
	SecurityGroupIDs []string          `json:"security_group_ids"`
	Environment      map[string]string `json:"environment"`
	LogGroup         string            `json:"log_group"`
	LogFormat        string            `json:"log_format"`
	URLAuthType      string            `json:"url_auth_type"`
	InvokeMode       string            `json:"invoke_mode"`
	// Name and Description are the edge functions Lambda's; empty for the
	// PostgREST function (postgrest-{id}). Left out of the JSON, so the
	// fleet version of the PostgREST functions stays what it was.
	Name        string `json:"-"`
	Description string `json:"-"`
}

// FunctionName is the Lambda the spec is for.
func (sp Spec) FunctionName(projectID string) string {
	if sp.Name != "" {
		return sp.Name
	}
	return FunctionName(projectID)
}

// Spec is the desired state of the project's function under s.
func (s Settings) Spec(projectID string) Spec {
	arch := s.Architecture
	if arch == "" {
		arch = string(types.ArchitectureX8664)
	}
	return Spec{
		ImageURI:         s.ImageURI,
		Architecture:     arch,
		MemoryMiB:        s.MemoryMiB,
		TimeoutSeconds:   s.TimeoutSeconds,
		RoleARN:          s.RoleARN,
		SubnetIDs:        sortedCopy(s.SubnetIDs),
		SecurityGroupIDs: sortedCopy(s.SecurityGroupIDs),
		Environment: map[string]string{
			"PROJECT_ID":         projectID,
			"CONFIG_SOURCE":      "service",
			"CONFIG_SERVICE_URL": s.ConfigServiceURL,
			"STS_ENDPOINT":       s.STSEndpoint,
		},
		// Lambda's default group, which the tenant-manager creates with a
		// retention before the function exists.
		LogGroup:    "/aws/lambda/" + FunctionName(projectID),
		LogFormat:   string(types.LogFormatText),
		URLAuthType: string(types.FunctionUrlAuthTypeAwsIam),
		InvokeMode:  string(types.InvokeModeBuffered),
	}
}

func sortedCopy(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// CreateInput is the CreateFunction request of the project's function.
func (sp Spec) CreateInput(projectID string) *lambda.CreateFunctionInput {
	return &lambda.CreateFunctionInput{
		FunctionName:  aws.String(sp.FunctionName(projectID)),
		PackageType:   types.PackageTypeImage,
		Code:          &types.FunctionCode{ImageUri: aws.String(sp.ImageURI)},
		Role:          aws.String(sp.RoleARN),
		MemorySize:    aws.Int32(sp.MemoryMiB),
		Timeout:       aws.Int32(sp.TimeoutSeconds),
		Architectures: []types.Architecture{types.Architecture(sp.Architecture)},
		VpcConfig:     sp.vpc(),
		Environment:   &types.Environment{Variables: maps.Clone(sp.Environment)},
		LoggingConfig: sp.logging(),
		Description:   aws.String(sp.description(projectID)),
		Tags:          map[string]string{"project": projectID, "managed-by": "supabase-tenant-manager"},
	}
}

// URLInput is the CreateFunctionUrlConfig request of the project's URL.
func (sp Spec) URLInput(projectID string) *lambda.CreateFunctionUrlConfigInput {
	return &lambda.CreateFunctionUrlConfigInput{
		FunctionName: aws.String(sp.FunctionName(projectID)),
		AuthType:     types.FunctionUrlAuthType(sp.URLAuthType),
		InvokeMode:   types.InvokeMode(sp.InvokeMode),
	}
}

func (sp Spec) vpc() *types.VpcConfig {
	return &types.VpcConfig{SubnetIds: slices.Clone(sp.SubnetIDs), SecurityGroupIds: slices.Clone(sp.SecurityGroupIDs)}
}

func (sp Spec) logging() *types.LoggingConfig {
	return &types.LoggingConfig{LogGroup: aws.String(sp.LogGroup), LogFormat: types.LogFormat(sp.LogFormat)}
}

// CodeDrift names what UpdateFunctionCode must change: the image and the
// architecture (set with the code for image functions).
func (sp Spec) CodeDrift(fn *lambda.GetFunctionOutput) []string {
	var d []string
	if fn.Code == nil || aws.ToString(fn.Code.ImageUri) != sp.ImageURI {
		d = append(d, "image")
	}
	if c := fn.Configuration; c != nil && !(len(c.Architectures) == 1 && string(c.Architectures[0]) == sp.Architecture) {
		d = append(d, "architecture")
	}
	return d
}

// ConfigDrift names what UpdateFunctionConfiguration must change. The
// environment is compared without GenerationVar. A function without a
// logging configuration in the answer is taken as on Lambda's default,
// which is the desired one.
func (sp Spec) ConfigDrift(c *types.FunctionConfiguration) []string {
	if c == nil {
		return []string{"configuration"}
	}
	var d []string
	if aws.ToInt32(c.MemorySize) != sp.MemoryMiB {
		d = append(d, "memory")
	}
	if aws.ToInt32(c.Timeout) != sp.TimeoutSeconds {
		d = append(d, "timeout")
	}
	if aws.ToString(c.Role) != sp.RoleARN {
		d = append(d, "role")
	}
	var env map[string]string
	if c.Environment != nil {
		env = c.Environment.Variables
	}
	if !sameEnv(env, sp.Environment) {
		d = append(d, "environment")
	}
	var subnets, sgs []string
	if c.VpcConfig != nil {
		subnets, sgs = c.VpcConfig.SubnetIds, c.VpcConfig.SecurityGroupIds
	}
	if !slices.Equal(sortedCopy(subnets), sp.SubnetIDs) || !slices.Equal(sortedCopy(sgs), sp.SecurityGroupIDs) {
		d = append(d, "vpc")
	}
	if l := c.LoggingConfig; l != nil && (aws.ToString(l.LogGroup) != sp.LogGroup || string(l.LogFormat) != sp.LogFormat) {
		d = append(d, "logging")
	}
	return d
}

func sameEnv(live, want map[string]string) bool {
	n := len(live)
	if _, ok := live[GenerationVar]; ok {
		n--
	}
	if n != len(want) {
		return false
	}
	for k, v := range want {
		if lv, ok := live[k]; !ok || lv != v {
			return false
		}
	}
	return true
}

// UpdateCodeInput is the UpdateFunctionCode request that brings the image
// and architecture to the spec; revision guards against a concurrent change.
func (sp Spec) UpdateCodeInput(projectID string, revision *string) *lambda.UpdateFunctionCodeInput {
	return &lambda.UpdateFunctionCodeInput{
		FunctionName:  aws.String(sp.FunctionName(projectID)),
		ImageUri:      aws.String(sp.ImageURI),
		Architectures: []types.Architecture{types.Architecture(sp.Architecture)},
		RevisionId:    revision,
	}
}

// UpdateConfigInput is the UpdateFunctionConfiguration request that brings
// the configuration to the spec, keeping the live GenerationVar.
func (sp Spec) UpdateConfigInput(projectID string, live *types.FunctionConfiguration) *lambda.UpdateFunctionConfigurationInput {
	env := maps.Clone(sp.Environment)
	var revision *string
	if live != nil {
		revision = live.RevisionId
		if live.Environment != nil {
			if g, ok := live.Environment.Variables[GenerationVar]; ok {
				env[GenerationVar] = g
			}
		}
	}
	return &lambda.UpdateFunctionConfigurationInput{
		FunctionName:  aws.String(sp.FunctionName(projectID)),
		Role:          aws.String(sp.RoleARN),
		MemorySize:    aws.Int32(sp.MemoryMiB),
		Timeout:       aws.Int32(sp.TimeoutSeconds),
		Environment:   &types.Environment{Variables: env},
		VpcConfig:     sp.vpc(),
		LoggingConfig: sp.logging(),
		RevisionId:    revision,
	}
}

// URLDrift says whether the URL's configuration differs from the spec.
func (sp Spec) URLDrift(u *lambda.GetFunctionUrlConfigOutput) bool {
	return string(u.AuthType) != sp.URLAuthType || (u.InvokeMode != "" && string(u.InvokeMode) != sp.InvokeMode)
}

// UpdateURLInput is the UpdateFunctionUrlConfig request that restores the
// URL's auth type and invoke mode.
func (sp Spec) UpdateURLInput(projectID string) *lambda.UpdateFunctionUrlConfigInput {
	return &lambda.UpdateFunctionUrlConfigInput{
		FunctionName: aws.String(sp.FunctionName(projectID)),
		AuthType:     types.FunctionUrlAuthType(sp.URLAuthType),
		InvokeMode:   types.InvokeMode(sp.InvokeMode),
	}
}

func (sp Spec) description(projectID string) string {
	if sp.Description != "" {
		return sp.Description
	}
	return "PostgREST of project " + projectID
}
