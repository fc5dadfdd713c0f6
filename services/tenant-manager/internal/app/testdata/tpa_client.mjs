// Drives the tenant-manager's third-party auth endpoints with
// supabase-management-js and prints what each call returned as one JSON
// document for the Go test to check.
//
// Env: SUPABASE_MANAGEMENT_JS (absolute path of the package's index.mjs),
// TM_BASE_URL, TM_ADMIN_TOKEN, TM_REF (an existing project), TM_ISSUER,
// TM_COGNITO_ISSUER, TM_JWKS_URL, TM_CUSTOM_JWKS (a JSON key set),
// TM_PRIVATE_URL (a URL whose host resolves to a private address).
import { pathToFileURL } from "node:url";

const { SupabaseManagementAPI } = await import(pathToFileURL(process.env.SUPABASE_MANAGEMENT_JS).href);
const api = new SupabaseManagementAPI({ accessToken: process.env.TM_ADMIN_TOKEN, baseUrl: process.env.TM_BASE_URL });
const ref = process.env.TM_REF;
const out = {};

// A failed call is recorded (status and body) instead of ending the run.
async function call(name, f) {
  try {
    const res = await f();
    out[name] = { status: res.status, data: res.data };
    return res.data;
  } catch (e) {
    out[name] = { error: e.name, status: e.status, data: e.data, message: e.message };
    return undefined;
  }
}

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
process.stdout.write(JSON.stringify(out));
