// Drives the tenant-manager's edge function and secret endpoints with
// supabase-management-js and prints what each call returned as one JSON
// document for the Go test to check.
//
// Env: SUPABASE_MANAGEMENT_JS (absolute path of the package's index.mjs),
// TM_BASE_URL, TM_ADMIN_TOKEN, TM_REF (an existing project).
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

const source = (v) => `Deno.serve(() => new Response("${v} " + (Deno.env.get("MY_SECRET") ?? "unset")));`;

await call("bulkCreateSecrets", () => api.bulkCreateSecrets(ref, [{ name: "MY_SECRET", value: "from-the-client" }, { name: "OTHER", value: "o" }]));
await call("listAllSecrets", () => api.listAllSecrets(ref));
await call("deployAFunction1", () =>
  api.deployAFunction(ref, { file: [source("v1")], metadata: { entrypoint_path: "index.ts", name: "Hello", verify_jwt: false } }, { slug: "hello" }),
);
await call("deployAFunction2", () => api.deployAFunction(ref, { file: [source("v2")], metadata: { entrypoint_path: "index.ts", name: "Hello" } }, { slug: "hello" }));
await call("listAllFunctions", () => api.listAllFunctions(ref));
await call("getAFunction", () => api.getAFunction(ref, "hello"));
await call("getAFunctionBody", () => api.getAFunctionBody(ref, "hello"));
await call("deployBadSlug", () => api.deployAFunction(ref, { file: [source("x")], metadata: { entrypoint_path: "index.ts" } }, { slug: "1bad" }));
await call("bulkCreateReserved", () => api.bulkCreateSecrets(ref, [{ name: "SUPABASE_URL", value: "x" }]));
await call("deleteAFunction", () => api.deleteAFunction(ref, "hello"));
await call("getDeletedFunction", () => api.getAFunction(ref, "hello"));
await call("bulkDeleteSecrets", () => api.bulkDeleteSecrets(ref, ["MY_SECRET"]));
await call("listAllSecretsAfterDelete", () => api.listAllSecrets(ref));
process.stdout.write(JSON.stringify(out));
