// Main service worker of the edge runtime: routes /functions/v1/<name>/...
// to a user worker running /home/deno/functions/<name>, and answers
// /health. Kong authenticates callers (key-auth, ACL) before they get here.

const FUNCTIONS_ROOT = "/home/deno/functions";
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

Deno.serve(async (req: Request) => {
  const url = new URL(req.url);
  if (url.pathname === "/health") {
    return json(200, { status: "ok" });
  }
  const parts = url.pathname.split("/").filter(Boolean); // functions, v1, name, ...
  if (parts.length < 3 || parts[0] !== "functions" || parts[1] !== "v1") {
    return json(404, { message: "Not found: call /functions/v1/<name>" });
  }
  const name = parts[2];
  if (!NAME.test(name) || name === "main") {
    return json(400, { message: "Invalid function name" });
  }
  const servicePath = `${FUNCTIONS_ROOT}/${name}`;
  try {
    await Deno.stat(`${servicePath}/index.ts`);
  } catch {
    return json(404, { message: `Function ${name} not found` });
  }
  try {
    // @ts-ignore EdgeRuntime is the runtime's global.
    const worker = await EdgeRuntime.userWorkers.create({
      servicePath,
      memoryLimitMb: 150,
      workerTimeoutMs: 60_000,
      noModuleCache: false,
      envVars: Object.entries(Deno.env.toObject()),
      forceCreate: false,
      netAccessDisabled: false,
      cpuTimeSoftLimitMs: 1000,
      cpuTimeHardLimitMs: 2000,
    });
    return await worker.fetch(req);
  } catch (e) {
    console.error(JSON.stringify({ level: "error", function: name, error: String(e) }));
    return json(500, { message: "Function failed" });
  }
});
