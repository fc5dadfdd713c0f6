// Drives the tenant-manager's /v1 endpoints with supabase-management-js, the
// npm client of Supabase's Management API, and prints what each call
// returned as one JSON document for the Go test to check.
//
// Env: those of client.mjs, TM_REGION; with TM_DELETE_REF it only deletes
// that project (the test checks the platform's state in between).
import { api, call, print } from "./client.mjs";

const deleteRef = process.env.TM_DELETE_REF;
if (deleteRef) {
  await call("deleteAProject", () => api.deleteAProject(deleteRef));
  await call("getDeletedProject", () => api.getProject(deleteRef));
  print();
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
print();
