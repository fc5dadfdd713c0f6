// Drives the tenant-manager's third-party auth endpoints with
// supabase-management-js and prints what each call returned as one JSON
// document for the Go test to check.
//
// Env: those of client.mjs, TM_REF (an existing project), TM_ISSUER,
// TM_COGNITO_ISSUER, TM_JWKS_URL, TM_CUSTOM_JWKS (a JSON key set),
// TM_PRIVATE_URL (a URL whose host resolves to a private address).
import { api, call, print } from "./client.mjs";

const ref = process.env.TM_REF;

const oidc = await call("createOidc", () => api.createProjectTpaIntegration(ref, { oidc_issuer_url: process.env.TM_ISSUER }));
await call("createJwksUrl", () =>
  api.createProjectTpaIntegration(ref, { oidc_issuer_url: process.env.TM_ISSUER + "/other", jwks_url: process.env.TM_JWKS_URL }),
);
await call("createCustom", () =>
  api.createProjectTpaIntegration(ref, { oidc_issuer_url: process.env.TM_ISSUER + "/custom", custom_jwks: JSON.parse(process.env.TM_CUSTOM_JWKS) }),
);
await call("createCognito", () => api.createProjectTpaIntegration(ref, { oidc_issuer_url: process.env.TM_COGNITO_ISSUER }));
await call("createPrivate", () => api.createProjectTpaIntegration(ref, { oidc_issuer_url: process.env.TM_PRIVATE_URL }));
await call("createHttp", () => api.createProjectTpaIntegration(ref, { oidc_issuer_url: process.env.TM_ISSUER.replace("https:", "http:") }));
await call("createDuplicate", () => api.createProjectTpaIntegration(ref, { oidc_issuer_url: process.env.TM_ISSUER }));
await call("list", () => api.listProjectTpaIntegrations(ref));
if (oidc?.id) {
  await call("get", () => api.getProjectTpaIntegration(ref, oidc.id));
  await call("delete", () => api.deleteProjectTpaIntegration(ref, oidc.id));
  await call("deleteAgain", () => api.deleteProjectTpaIntegration(ref, oidc.id));
}
await call("listAfterDelete", () => api.listProjectTpaIntegrations(ref));
print();
