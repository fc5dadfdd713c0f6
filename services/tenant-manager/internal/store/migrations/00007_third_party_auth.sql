-- +goose Up
-- Third-party auth: issuers whose tokens the gateway accepts for a project
-- (as the role authenticated). Every change counts the project's document
-- version (projects.jwt_version) up in the same transaction, and the
-- gateway gets the entries in its configuration document.
-- type: oidc = keys from the issuer's discovery document, jwks = from
-- jwks_url, custom = the inline custom_jwks (public keys only, checked
-- before they are stored). audience, client_id and token_use are optional
-- checks of the token's claims.
CREATE TABLE third_party_auth (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id      text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    type            text NOT NULL CHECK (type IN ('oidc', 'jwks', 'custom')),
    oidc_issuer_url text NOT NULL,
    jwks_url        text,
    custom_jwks     jsonb,
    audience        text,
    client_id       text,
    token_use       text CHECK (token_use IN ('id', 'access')),
    inserted_at     timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((type = 'oidc' AND jwks_url IS NULL AND custom_jwks IS NULL)
        OR (type = 'jwks' AND jwks_url IS NOT NULL AND custom_jwks IS NULL)
        OR (type = 'custom' AND custom_jwks IS NOT NULL AND jwks_url IS NULL)),
    -- The gateway picks the entry whose issuer equals the token's iss:
    -- two entries of one issuer would make that ambiguous.
    UNIQUE (project_id, oidc_issuer_url)
);

-- +goose Down
DROP TABLE third_party_auth;
