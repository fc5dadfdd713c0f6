-- +goose Up
CREATE TABLE rds_instances (
    id          text PRIMARY KEY,
    endpoint    text NOT NULL,
    port        integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    max_tenants integer NOT NULL CHECK (max_tenants > 0),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draining')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id            text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9-]{1,38}[a-z0-9]$' AND position('--' IN id) = 0),
    status        text NOT NULL CHECK (status IN ('provisioning', 'active', 'deprovisioning')),
    worker_id     text REFERENCES rds_instances (id),
    function_name text,
    function_url  text,
    function_arn  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_worker_idx ON projects (worker_id);

-- Full keys are never stored: only a prefix to recognise them and SHA-256.
CREATE TABLE api_keys (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id         text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name               text NOT NULL,
    key_type           text NOT NULL CHECK (key_type IN ('publishable', 'secret')),
    role               text NOT NULL CHECK (role IN ('anon', 'service_role')),
    prefix             text NOT NULL,
    hashed_secret      text NOT NULL UNIQUE,
    kong_credential_id text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    revoked_at         timestamptz
);
CREATE INDEX api_keys_project_idx ON api_keys (project_id);

-- secret: AES-256-GCM, associated data project id + "jwt_keys.secret".
CREATE TABLE jwt_keys (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    secret     bytea NOT NULL,
    algorithm  text NOT NULL DEFAULT 'HS256' CHECK (algorithm = 'HS256'),
    status     text NOT NULL CHECK (status IN ('current', 'rotated')),
    created_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz
);
CREATE UNIQUE INDEX jwt_keys_one_current ON jwt_keys (project_id) WHERE status = 'current';

-- db_uri: AES-256-GCM, associated data project id + "postgrest_config.db_uri".
CREATE TABLE postgrest_config (
    project_id         text PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    db_uri             bytea NOT NULL,
    db_schemas         text NOT NULL DEFAULT 'public',
    db_anon_role       text NOT NULL DEFAULT 'anon',
    db_use_legacy_gucs boolean NOT NULL DEFAULT false
);

-- +goose Down
DROP TABLE postgrest_config;
DROP TABLE jwt_keys;
DROP TABLE api_keys;
DROP TABLE projects;
DROP TABLE rds_instances;
