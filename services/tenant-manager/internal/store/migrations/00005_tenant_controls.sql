-- +goose Up
-- Pause and restore pass through pausing/restoring, so a second
-- transition, a delete or a limits change can see one is running (and the
-- row says where a process that died stopped). The other values are the
-- lifecycle's, listed in full so this constraint holds whatever earlier
-- migrations allowed.
ALTER TABLE projects DROP CONSTRAINT IF EXISTS projects_status_check;
ALTER TABLE projects ADD CONSTRAINT projects_status_check CHECK (status IN (
    'provisioning', 'active', 'deprovisioning', 'deleting', 'deleted', 'failed',
    'pausing', 'paused', 'restoring'));

-- Per-project runtime controls. No row = defaults: not paused, the
-- gateway's default rate limit, the configured reserved concurrency.
-- paused is what the gateway is told (config document and Redis hash); it
-- changes inside a transition, before or after the status does.
CREATE TABLE project_controls (
    project_id           text PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    paused               boolean NOT NULL DEFAULT false,
    rate_limit_rps       integer CHECK (rate_limit_rps >= 1),
    rate_limit_burst     integer CHECK (rate_limit_burst >= 1),
    reserved_concurrency integer CHECK (reserved_concurrency >= 1),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((rate_limit_rps IS NULL) = (rate_limit_burst IS NULL))
);

-- +goose Down
DROP TABLE project_controls;
UPDATE projects SET status = 'active' WHERE status IN ('pausing', 'paused', 'restoring');
ALTER TABLE projects DROP CONSTRAINT IF EXISTS projects_status_check;
ALTER TABLE projects ADD CONSTRAINT projects_status_check CHECK (status IN (
    'provisioning', 'active', 'deprovisioning', 'deleting', 'deleted', 'failed'));
