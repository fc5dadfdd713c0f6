-- +goose Up
-- Per-project progress of the tenant function reconciler. desired_version
-- is a hash of the function's desired spec (image, memory, timeout,
-- architecture, environment, VPC, role, logging, URL); applied_version the
-- last one the function was seen or made to match. A restarted
-- tenant-manager compares again and carries on from what Lambda holds.
CREATE TABLE function_rollout (
    project_id      text PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    desired_version text NOT NULL,
    applied_version text,
    last_error      text,
    attempts        integer NOT NULL DEFAULT 0,
    -- Periodic runs leave a failing project alone until then (backoff);
    -- runs at start and on demand retry it at once.
    retry_after     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The reconciler's last run, one row: what the status endpoint reports,
-- and requested_at, so a run asked for on any task is picked up by the
-- task that holds the reconciler's lock.
CREATE TABLE fleet_reconcile (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    requested_at timestamptz,
    trigger      text,
    started_at   timestamptz,
    finished_at  timestamptz,
    outcome      text,
    error        text,
    checked      integer NOT NULL DEFAULT 0,
    updated      integer NOT NULL DEFAULT 0,
    failed       integer NOT NULL DEFAULT 0
);
INSERT INTO fleet_reconcile (id) VALUES (true);

-- +goose Down
DROP TABLE fleet_reconcile;
DROP TABLE function_rollout;
