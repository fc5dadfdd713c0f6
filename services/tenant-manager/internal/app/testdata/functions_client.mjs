// Drives the tenant-manager's edge function and secret endpoints with
// supabase-management-js and prints what each call returned as one JSON
// document for the Go test to check.
//
// Env: those of client.mjs, TM_REF (an existing project).
import { api, call, print } from "./client.mjs";

const ref = process.env.TM_REF;

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
print();
