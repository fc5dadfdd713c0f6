// Drives the SQL, read-only and migration endpoints with supabase-management-js
// and prints what each call returned as one JSON document for the Go test.
//
// Env: those of client.mjs, and TM_REF.
import { api, out, print } from "./client.mjs";

const ref = process.env.TM_REF;
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
print();
