package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// ECS is the part of the ECS API a redeploy uses.
type ECS interface {
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, opts ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
}

// ServiceRef names one ECS service.
type ServiceRef struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
}

// Redeployer starts a rolling deployment of every ECS service that was
// given a secret at task start, when that secret has rotated. ECS reads a
// task's secrets only when the task starts, so without this a task keeps a
// login that the rotation after next disables (multi-user rotation).
type Redeployer struct {
	ECS ECS
	// Consumers maps a secret ARN to the services started with it.
	Consumers map[string][]ServiceRef
}

// RotationEvent is the EventBridge event of a Secrets Manager rotation, as
// delivered through CloudTrail ("AWS Service Event via CloudTrail").
type RotationEvent struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// isRotationEvent tells a rotation event from the other payloads the
// function takes.
func isRotationEvent(raw []byte) (RotationEvent, bool) {
	var ev RotationEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return ev, false
	}
	return ev, ev.Source == "aws.secretsmanager" && ev.DetailType != ""
}

// secretIDs collects every secret id the event names: CloudTrail puts the
// rotated secret in additionalEventData.SecretId for rotation service
// events; requestParameters.secretId and resources are read too, so a
// change of shape does not silently skip a redeploy.
func (ev RotationEvent) secretIDs() (eventName string, ids []string) {
	var d struct {
		EventName           string `json:"eventName"`
		AdditionalEventData struct {
			SecretID string `json:"SecretId"`
		} `json:"additionalEventData"`
		RequestParameters struct {
			SecretID string `json:"secretId"`
		} `json:"requestParameters"`
		Resources []struct {
			ARN string `json:"ARN"`
		} `json:"resources"`
	}
	_ = json.Unmarshal(ev.Detail, &d)
	for _, id := range []string{d.AdditionalEventData.SecretID, d.RequestParameters.SecretID} {
		if id != "" {
			ids = append(ids, id)
		}
	}
	for _, r := range d.Resources {
		if r.ARN != "" {
			ids = append(ids, r.ARN)
		}
	}
	return d.EventName, append(ids, ev.Resources...)
}

// sameSecret compares a configured secret ARN with an id from an event,
// which may be the full ARN, or the ARN or name without the random suffix.
func sameSecret(arn, id string) bool {
	if arn == id {
		return true
	}
	i := strings.LastIndex(arn, "-")
	return i > 0 && len(arn)-i == 7 && (arn[:i] == id || strings.HasSuffix(arn[:i], ":secret:"+id))
}

// RedeployResult says which services got a new deployment.
type RedeployResult struct {
	Secret     string   `json:"secret,omitempty"`
	Redeployed []string `json:"redeployed"`
}

// Handle redeploys the consumers of the rotated secret. An event for a
// secret nobody consumes is ignored; a failed UpdateService is returned as
// an error so Lambda's asynchronous retries try again.
func (r *Redeployer) Handle(ctx context.Context, ev RotationEvent, log *slog.Logger) (RedeployResult, error) {
	name, ids := ev.secretIDs()
	if name != "RotationSucceeded" {
		log.Info("rotation event ignored", "event", name)
		return RedeployResult{}, nil
	}
	arns := make([]string, 0, len(r.Consumers))
	for arn := range r.Consumers {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	var res RedeployResult
	var errs []error
	for _, arn := range arns {
		match := false
		for _, id := range ids {
			match = match || sameSecret(arn, id)
		}
		if !match {
			continue
		}
		res.Secret = arn
		for _, s := range r.Consumers[arn] {
			_, err := r.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{
				Cluster:            aws.String(s.Cluster),
				Service:            aws.String(s.Service),
				ForceNewDeployment: true,
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("redeploying %s: %w", s.Service, err))
				continue
			}
			res.Redeployed = append(res.Redeployed, s.Service)
		}
		log.Info("services redeployed after a secret rotation", "secret", arn, "services", res.Redeployed)
	}
	if res.Secret == "" {
		log.Info("rotated secret has no consumers to redeploy", "secret_ids", ids)
	}
	return res, errors.Join(errs...)
}
