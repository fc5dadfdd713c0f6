// What the Management API client scripts here share: supabase-management-js
// (SUPABASE_MANAGEMENT_JS, the absolute path of the package's index.mjs)
// pointed at TM_BASE_URL with TM_ADMIN_TOKEN, the record of each call, and
// printing that record as one JSON document for the Go test to check.
import { pathToFileURL } from "node:url";

const { SupabaseManagementAPI } = await import(pathToFileURL(process.env.SUPABASE_MANAGEMENT_JS).href);
export const api = new SupabaseManagementAPI({ accessToken: process.env.TM_ADMIN_TOKEN, baseUrl: process.env.TM_BASE_URL });
export const out = {};

// A failed call is recorded (status and body) instead of ending the run.
export async function call(name, f) {
  try {
    const res = await f();
    out[name] = { status: res.status, data: res.data };
    return res.data;
  } catch (e) {
    out[name] = { error: e.name, status: e.status, data: e.data, message: e.message };
    return undefined;
  }
}

export function print() {
  process.stdout.write(JSON.stringify(out));
}
