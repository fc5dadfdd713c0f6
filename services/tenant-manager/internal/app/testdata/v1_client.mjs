// Drives the tenant-manager's /v1 endpoints with supabase-management-js, the
// npm client of Supabase's Management API, and prints what each call
// returned as one JSON document for the Go test to check.
//
// Env: SUPABASE_MANAGEMENT_JS (absolute path of the package's index.mjs),
// TM_BASE_URL, TM_ADMIN_TOKEN, TM_REGION; with TM_DELETE_REF it only deletes
// that project (the test checks the platform's state in between).
import { pathToFileURL } from "node:url";

const { SupabaseManagementAPI } = await import(pathToFileURL(process.env.SUPABASE_MANAGEMENT_JS).href);
const api = new SupabaseManagementAPI({ accessToken: process.env.TM_ADMIN_TOKEN, baseUrl: process.env.TM_BASE_URL });
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

const deleteRef = process.env.TM_DELETE_REF;
if (deleteRef) {
  await call("deleteAProject", () => api.deleteAProject(deleteRef));
  await call("getDeletedProject", () => api.getProject(deleteRef));
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const created = await call("createAProject", () =>
  api.createAProject({
    name: "Client Test",
    organization_slug: "acme-org",
    db_pass: "client-db-pass-never-logged",
    region: process.env.TM_REGION,
    plan: "free",
    desired_instance_size: "micro",
  }),
);
const ref = created?.ref;
if (ref) {
  await call("listAllProjects", () => api.listAllProjects());
  await call("getProject", () => api.getProject(ref));
  await call("getProjectApiKeys", () => api.getProjectApiKeys(ref));
  const key = await call("createProjectApiKey", () => api.createProjectApiKey(ref, { type: "secret", name: "ci_key", description: "made by the client test" }));
  await call("getProjectApiKeysAfterCreate", () => api.getProjectApiKeys(ref));
  await call("revealProjectApiKeys", () => api.getProjectApiKeys(ref, { reveal: true }));
  if (key?.id) {
    await call("deleteProjectApiKey", () => api.deleteProjectApiKey(ref, key.id, { was_compromised: false }));
    await call("deleteProjectApiKeyAgain", () => api.deleteProjectApiKey(ref, key.id));
  }
  await call("getServicesHealth", () => api.getServicesHealth(ref, { services: ["rest", "db", "auth"] }));
  await call("updatePostgrestServiceConfig", () =>
    api.updatePostgrestServiceConfig(ref, { db_schema: "public, api", max_rows: 500, db_extra_search_path: "public,extensions" }),
  );
  await call("getPostgrestServiceConfig", () => api.getPostgrestServiceConfig(ref));
  await call("badPostgrestServiceConfig", () => api.updatePostgrestServiceConfig(ref, { max_rows: "many" }));
  await call("getUnknownProject", () => api.getProject("zzzzzzzzzzzzzzzzzzzz"));
}
process.stdout.write(JSON.stringify(out));
