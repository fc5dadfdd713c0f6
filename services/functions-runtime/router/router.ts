// The edge functions router: one Deno process serves every function of a
// project. Each function module is imported on its first request with
// Deno.serve replaced, so the handler it passes is captured instead of
// opening a port; the router then dispatches /<slug>/... (and
// /functions/v1/<slug>/...) to it. Deno runs with network and environment
// access only, reading nothing but the functions' files.

type Handler = (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

interface Entry {
  slug: string;
  version: number;
  entrypoint: string;
  verify_jwt: boolean;
}

const manifestPath = Deno.args[0];
if (!manifestPath) {
  console.error(JSON.stringify({ level: "error", msg: "usage: router.ts <manifest.json>" }));
  Deno.exit(2);
}
const manifest: { functions: Entry[]; failed: string[] } = JSON.parse(await Deno.readTextFile(manifestPath));
// The project's variables (secrets, SUPABASE_URL, keys) come in a file,
// not in Deno's exec environment, so none of them can steer the dynamic
// loader or Deno's start-up; they are set before any function loads.
const envPath = Deno.args[1];
if (envPath) {
  const projectEnv: Record<string, string> = JSON.parse(await Deno.readTextFile(envPath));
  for (const [k, v] of Object.entries(projectEnv)) {
    Deno.env.set(k, v);
  }
}
const entries = new Map(manifest.functions.map((e) => [e.slug, e]));
const failed = new Set(manifest.failed ?? []);
const port = Number(Deno.env.get("PORT") ?? "8000");

const realServe = Deno.serve.bind(Deno);
const handlers = new Map<string, Promise<Handler>>();
// Imports run one at a time, so a Deno.serve call belongs to the module
// being imported.
let importing: string | null = null;
let captured: Handler | null = null;
let chain: Promise<unknown> = Promise.resolve();

// deno-lint-ignore no-explicit-any
function capturingServe(a: any, b?: any): Deno.HttpServer {
  const handler = typeof a === "function" ? a : typeof b === "function" ? b : a?.handler;
  if (typeof handler !== "function") {
    throw new TypeError("Deno.serve needs a handler function");
  }
  if (importing === null) {
    throw new Error("Deno.serve may only be called while the function module loads");
  }
  captured = handler;
  const server = {
    finished: new Promise<void>(() => {}),
    addr: { transport: "tcp", hostname: "0.0.0.0", port },
    ref() {},
    unref() {},
    shutdown: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  return server as unknown as Deno.HttpServer;
}
Object.defineProperty(Deno, "serve", { value: capturingServe, writable: true, configurable: true });

function load(e: Entry): Promise<Handler> {
  const next = chain.then(async () => {
    importing = e.slug;
    captured = null;
    try {
      await import(new URL("file://" + e.entrypoint).href);
      if (!captured) {
        throw new Error("the module did not call Deno.serve");
      }
      return captured as Handler;
    } finally {
      importing = null;
    }
  });
  chain = next.catch(() => {});
  return next;
}

function json(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ code, message }), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function log(level: string, msg: string, fields: Record<string, unknown>) {
  console.error(JSON.stringify({ level, msg, ...fields }));
}

realServe({ port, hostname: "127.0.0.1", onListen() {} }, async (req, info) => {
  const url = new URL(req.url);
  let path = url.pathname;
  if (path === "/_internal/health") {
    return new Response("ok");
  }
  if (path === "/functions/v1" || path.startsWith("/functions/v1/")) {
    path = path.slice("/functions/v1".length) || "/";
  }
  const slug = path.split("/")[1] ?? "";
  const entry = entries.get(slug);
  if (!entry) {
    if (failed.has(slug)) {
      return json(503, "BOOT_ERROR", `function ${slug} could not be loaded`);
    }
    return json(404, "NOT_FOUND", `no function ${slug}`);
  }
  let handler = handlers.get(slug);
  if (!handler) {
    handler = load(entry);
    handlers.set(slug, handler);
  }
  let h: Handler;
  try {
    h = await handler;
  } catch (err) {
    log("error", "function failed to load", { slug, version: entry.version, error: String(err) });
    return json(503, "BOOT_ERROR", `function ${slug} failed to start`);
  }
  // The function sees its own path: /<slug>/..., as on Supabase.
  url.pathname = path;
  try {
    return await h(new Request(url, req), info);
  } catch (err) {
    log("error", "function threw", { slug, version: entry.version, error: String(err) });
    return json(500, "FUNCTION_ERROR", `function ${slug} failed`);
  }
});
