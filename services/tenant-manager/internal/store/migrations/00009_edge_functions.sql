-- +goose Up
-- A project's edge functions. version is the active version: the one the
-- project's functions Lambda serves. Bundles live in S3
-- (FUNCTIONS_BUCKET); rows only point at them.
CREATE TABLE edge_functions (
    project_id      text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    slug            text NOT NULL CHECK (slug ~ '^[A-Za-z][A-Za-z0-9_-]{0,99}$'),
    id              uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    name            text NOT NULL,
    version         integer NOT NULL CHECK (version >= 1),
    verify_jwt      boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, slug)
);

-- Every kept version of a function (the newest FUNCTIONS_KEEP_VERSIONS).
CREATE TABLE edge_function_versions (
    project_id      text NOT NULL,
    slug            text NOT NULL,
    version         integer NOT NULL CHECK (version >= 1),
    bundle_key      text NOT NULL,
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes      bigint NOT NULL,
    entrypoint_path text NOT NULL,
    import_map_path text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, slug, version),
    FOREIGN KEY (project_id, slug) REFERENCES edge_functions (project_id, slug) ON DELETE CASCADE
);

-- value: AES-256-GCM, associated data project id + "edge_function_secrets:" + name.
-- digest: SHA-256 of the value (hex), what a listing shows.
CREATE TABLE edge_function_secrets (
    project_id text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]{0,255}$' AND name NOT LIKE 'SUPABASE\_%'),
    value      bytea NOT NULL,
    digest     text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, name)
);

-- The project's functions Lambda (functions-{id}), made by the first deploy.
-- Its API keys are minted for the runtime and kept sealed (associated data
-- project id + "edge_runtime.anon_key" / "edge_runtime.service_key"); the
-- api_keys rows hold only their hashes like every other key.
CREATE TABLE edge_runtime (
    project_id    text PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    function_name text NOT NULL,
    function_arn  text NOT NULL,
    function_url  text NOT NULL,
    anon_key      bytea,
    service_key   bytea,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE edge_runtime;
DROP TABLE edge_function_secrets;
DROP TABLE edge_function_versions;
DROP TABLE edge_functions;
