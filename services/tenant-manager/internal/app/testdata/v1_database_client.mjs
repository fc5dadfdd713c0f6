// Drives the SQL, read-only and migration endpoints with supabase-management-js
// and prints what each call returned as one JSON document for the Go test.
//
// Env: SUPABASE_MANAGEMENT_JS (absolute path of the package's index.mjs), TOKEN,
// BASE_URL, REF.
import { pathToFileURL } from "node:url";

const { SupabaseManagementAPI } = await import(pathToFileURL(process.env.SUPABASE_MANAGEMENT_JS).href);
const api = new SupabaseManagementAPI({ accessToken: process.env.TOKEN, baseUrl: process.env.BASE_URL });
const ref = process.env.REF;
const out = {};
await api.runAQuery(ref, { query: "create table public.notes (id int primary key, owner text not null, body text); " +
  "alter table public.notes enable row level security; " +
  "create policy public_notes on public.notes for select to anon using (owner = 'public');" });
out.inserted = (await api.runAQuery(ref, { query: "insert into public.notes values ($1, $2, $3), (2, 'alice', 'secret') returning id",
  parameters: [1, "public", "hello"] })).data;
out.readOnly = (await api.readOnlyQuery(ref, { query: "select id, body from public.notes order by id" })).data;
try {
  await api.readOnlyQuery(ref, { query: "delete from public.notes" });
  out.readOnlyWrite = "allowed";
} catch (e) {
  out.readOnlyWrite = e.constructor.name;
}
await api.applyAMigration(ref, { query: "alter table public.notes add column created_at timestamptz default now()", name: "notes_created_at" });
out.history = (await api.listMigrationHistory(ref)).data;
console.log(JSON.stringify(out));
