package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"
)

// Handler is the Lambda entry point. One image serves the CloudFormation
// custom resources (events with a RequestType), Secrets Manager rotation
// events from EventBridge (redeploys, when Redeploy is set) and direct admin
// invocations ({"operation": …}).
type Handler struct {
	Admin    *Admin
	Redeploy *Redeployer
	Log      *slog.Logger
}

func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		RequestType string `json:"RequestType"`
	}
	_ = json.Unmarshal(raw, &probe)
	if ev, ok := isRotationEvent(raw); ok {
		if h.Redeploy == nil {
			return nil, fmt.Errorf("rotation event received, but this function has no ROTATION_CONSUMERS")
		}
		return h.Redeploy.Handle(ctx, ev, h.Log)
	}
	if probe.RequestType != "" {
		var ev cfn.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decoding CloudFormation event: %w", err)
		}
		// LambdaWrap reports success or failure to CloudFormation's
		// response URL; the Lambda's own result is only logged.
		return cfn.LambdaWrap(h.customResource)(ctx, ev)
	}
	var req Request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Response{Error: &Error{Code: "invalid_request", Message: "request must be {operation, instance?, database?, sql?}: " + err.Error()}}, nil
	}
	h.Log.Info("admin operation", "operation", req.Operation, "instance", req.Instance, "database", req.Database)
	resp := h.Admin.Handle(ctx, req)
	if resp.Error != nil {
		h.Log.Warn("admin operation failed", "operation", req.Operation, "code", resp.Error.Code, "message", resp.Error.Message)
	}
	return resp, nil
}

func (h *Handler) customResource(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
	h.Log.Info("custom resource", "request_type", ev.RequestType, "logical_id", ev.LogicalResourceID, "type", ev.ResourceType)
	if ev.ResourceType == LoginResourceType {
		return h.login(ctx, ev)
	}
	if ev.RequestType == cfn.RequestDelete {
		// The databases hold the platform's data: deleting the resource
		// (or the stack) leaves them in place.
		return PhysicalID, nil, nil
	}
	b, err := json.Marshal(ev.ResourceProperties)
	if err != nil {
		return PhysicalID, nil, err
	}
	var p BootstrapProps
	if err := json.Unmarshal(b, &p); err != nil {
		return PhysicalID, nil, fmt.Errorf("resource properties: %w", err)
	}
	if err := h.Admin.Bootstrap(ctx, p, h.Log); err != nil {
		h.Log.Error("bootstrap failed", "error", err.Error())
		return PhysicalID, nil, err
	}
	return PhysicalID, map[string]any{"Databases": "kong,supabase_platform"}, nil
}

// login handles Custom::DatabaseLogin. Delete keeps the role: a task may
// still be logged in with it, and the secret outlives the resource.
func (h *Handler) login(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
	b, err := json.Marshal(ev.ResourceProperties)
	if err != nil {
		return ev.PhysicalResourceID, nil, err
	}
	var p LoginProps
	if err := json.Unmarshal(b, &p); err != nil {
		return ev.PhysicalResourceID, nil, fmt.Errorf("resource properties: %w", err)
	}
	id := LoginPhysicalID(p.Role)
	if ev.RequestType == cfn.RequestDelete {
		if ev.PhysicalResourceID != "" {
			id = ev.PhysicalResourceID
		}
		return id, nil, nil
	}
	granted, err := h.Admin.EnsureLogin(ctx, p, h.Log)
	if err != nil {
		h.Log.Error("login role failed", "role", p.Role, "error", err.Error())
		return id, nil, err
	}
	return id, map[string]any{"Role": p.Role, "MemberOf": strings.Join(granted, ",")}, nil
}
