-- +goose Up
-- A rotation first adds the new key as 'pending' (accepted by PostgREST,
-- never used to sign), then promotes it; the previous key stays 'rotated'
-- (still accepted) until accept_until, and becomes 'retired' once the
-- tenant's Lambda has been recycled without it.
ALTER TABLE jwt_keys DROP CONSTRAINT jwt_keys_status_check;
ALTER TABLE jwt_keys ADD CONSTRAINT jwt_keys_status_check CHECK (status IN ('pending', 'current', 'rotated', 'retired'));
ALTER TABLE jwt_keys ADD COLUMN accept_until timestamptz;
ALTER TABLE jwt_keys ADD COLUMN retired_at timestamptz;
-- Keys rotated before this migration were already dropped by their Lambda.
UPDATE jwt_keys SET status = 'retired', retired_at = now() WHERE status = 'rotated';
-- One rotation at a time per project: a second pending key is refused.
CREATE UNIQUE INDEX jwt_keys_one_pending ON jwt_keys (project_id) WHERE status = 'pending';
CREATE INDEX jwt_keys_rotated_idx ON jwt_keys (accept_until) WHERE status = 'rotated';

-- Counts the keys that became current; the gateway's cache refuses a
-- document older than the one it holds. A counter, not a timestamp: Lua
-- numbers are doubles.
ALTER TABLE projects ADD COLUMN jwt_version bigint NOT NULL DEFAULT 1 CHECK (jwt_version >= 1 AND jwt_version < 9007199254740992);

-- +goose Down
ALTER TABLE projects DROP COLUMN jwt_version;
DROP INDEX jwt_keys_rotated_idx;
DROP INDEX jwt_keys_one_pending;
DELETE FROM jwt_keys WHERE status = 'pending';
UPDATE jwt_keys SET status = 'rotated' WHERE status = 'retired';
ALTER TABLE jwt_keys DROP COLUMN retired_at;
ALTER TABLE jwt_keys DROP COLUMN accept_until;
ALTER TABLE jwt_keys DROP CONSTRAINT jwt_keys_status_check;
ALTER TABLE jwt_keys ADD CONSTRAINT jwt_keys_status_check CHECK (status IN ('current', 'rotated'));
