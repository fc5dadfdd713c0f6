-- +goose Up
-- The password of a tenant's owner login, used only by the management
-- API's SQL endpoints; set the first time a project's SQL is run.
-- password: AES-256-GCM, associated data project id + "sql_logins.password".
CREATE TABLE sql_logins (
    project_id text PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    password   bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE sql_logins;
