-- +goose Up
-- What the Supabase-compatible management API (/v1) reports about a project.
-- Projects created through /project/create-pgrest-lambda have no name (the
-- API reports the id) and no region (the API reports the platform's).
ALTER TABLE projects ADD COLUMN name text CHECK (char_length(name) BETWEEN 1 AND 256);
ALTER TABLE projects ADD COLUMN organization_slug text NOT NULL DEFAULT 'default' CHECK (organization_slug ~ '^[A-Za-z0-9_-]{1,64}$');
ALTER TABLE projects ADD COLUMN region text;
-- Supabase's V1ProjectRefResponse carries a numeric id beside the ref.
ALTER TABLE projects ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX projects_seq_idx ON projects (seq);

ALTER TABLE api_keys ADD COLUMN description text CHECK (char_length(description) <= 256);

-- NULL db_max_rows: PostgREST's default (no limit). db_extra_search_path
-- defaults to PostgREST's own default.
ALTER TABLE postgrest_config ADD COLUMN db_max_rows integer CHECK (db_max_rows BETWEEN 1 AND 1000000);
ALTER TABLE postgrest_config ADD COLUMN db_extra_search_path text NOT NULL DEFAULT 'public';

-- +goose Down
ALTER TABLE postgrest_config DROP COLUMN db_extra_search_path;
ALTER TABLE postgrest_config DROP COLUMN db_max_rows;
ALTER TABLE api_keys DROP COLUMN description;
DROP INDEX projects_seq_idx;
ALTER TABLE projects DROP COLUMN seq;
ALTER TABLE projects DROP COLUMN region;
ALTER TABLE projects DROP COLUMN organization_slug;
ALTER TABLE projects DROP COLUMN name;
