// Authenticating reverse proxy and supervisor for Supabase Studio.
//
// Studio has no login of its own when self-hosted, so this process runs it as
// a child bound to 127.0.0.1 and is the only thing listening on the task's
// port: every request must carry HTTP Basic credentials (unless the load
// balancer authenticates in front, STUDIO_AUTH=none). Only node: built-ins,
// so the upstream image needs nothing installed.
//
// Usage: node auth-proxy.mjs [studio command...]
// (default command: node apps/studio/server.js, the upstream image's CMD).

import { spawn } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { pathToFileURL } from 'node:url';

export const HEALTH_PATH = '/_auth-proxy/health';
const REALM = 'Basic realm="Supabase Studio", charset="UTF-8"';
const MIN_PASSWORD_CHARS = 16;
const DEFAULT_CHILD = ['node', 'apps/studio/server.js'];
// Variables only the proxy needs; Studio never sees the password.
const PROXY_ONLY_ENV = [
  'STUDIO_AUTH', 'STUDIO_USERNAME', 'STUDIO_PASSWORD', 'STUDIO_UPSTREAM_PORT',
  'STUDIO_AUTH_MAX_FAILURES', 'STUDIO_AUTH_WINDOW_SECONDS', 'STUDIO_AUTH_BLOCK_SECONDS',
  'STUDIO_HEALTH_UPSTREAM_PATH',
];
// Hop-by-hop headers (RFC 9110 section 7.6.1) describe one connection, not
// the message, so they are never relayed (Expect is answered here).
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer',
  'upgrade', 'proxy-authenticate', 'proxy-authorization', 'expect', 'http2-settings',
]);

export class ConfigError extends Error {}

function intSetting(env, name, def, min, max) {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}`);
  return n;
}

// loadConfig validates the environment; any doubt refuses to start rather
// than serving Studio open.
export function loadConfig(env, argv = []) {
  const mode = (env.STUDIO_AUTH ?? '').trim().toLowerCase() || 'basic';
  if (mode !== 'basic' && mode !== 'none') {
    throw new ConfigError(`STUDIO_AUTH must be "basic" or "none", got ${JSON.stringify(env.STUDIO_AUTH)}`);
  }
  const cfg = {
    mode,
    port: intSetting(env, 'PORT', 8000, 0, 65535),
    upstreamPort: intSetting(env, 'STUDIO_UPSTREAM_PORT', 3000, 1, 65535),
    maxFailures: intSetting(env, 'STUDIO_AUTH_MAX_FAILURES', 10, 1, 1_000_000),
    windowMs: intSetting(env, 'STUDIO_AUTH_WINDOW_SECONDS', 60, 1, 86_400) * 1000,
    blockMs: intSetting(env, 'STUDIO_AUTH_BLOCK_SECONDS', 300, 1, 86_400) * 1000,
    healthUpstreamPath: env.STUDIO_HEALTH_UPSTREAM_PATH || '/api/platform/profile',
    child: argv.length > 0 ? argv : DEFAULT_CHILD,
  };
  if (cfg.port !== 0 && cfg.port === cfg.upstreamPort) {
    throw new ConfigError('PORT and STUDIO_UPSTREAM_PORT must differ');
  }
  if (!cfg.healthUpstreamPath.startsWith('/')) {
    throw new ConfigError('STUDIO_HEALTH_UPSTREAM_PATH must start with "/"');
  }
  if (mode === 'basic') {
    const username = env.STUDIO_USERNAME === undefined || env.STUDIO_USERNAME === '' ? 'supabase' : env.STUDIO_USERNAME;
    if (username.includes(':')) throw new ConfigError('STUDIO_USERNAME must not contain ":"');
    const password = env.STUDIO_PASSWORD ?? '';
    if (password === '') {
      throw new ConfigError('STUDIO_PASSWORD is required when STUDIO_AUTH=basic (the default); set it, or set STUDIO_AUTH=none only when an authenticating load balancer is in front');
    }
    if ([...password].length < MIN_PASSWORD_CHARS) {
      throw new ConfigError(`STUDIO_PASSWORD must be at least ${MIN_PASSWORD_CHARS} characters long`);
    }
    // Only digests are kept: comparing fixed-length digests takes the same
    // time whatever the length or content of the guess.
    cfg.userDigest = sha256(Buffer.from(username, 'utf8'));
    cfg.passDigest = sha256(Buffer.from(password, 'utf8'));
  }
  return cfg;
}

function sha256(buf) {
  return createHash('sha256').update(buf).digest();
}

// checkBasic tells whether an Authorization header carries the configured
// credentials. Both parts are always compared, so the time taken does not
// reveal which one was wrong.
export function checkBasic(header, cfg) {
  if (typeof header !== 'string') return false;
  const m = /^basic[ \t]+([A-Za-z0-9+/=._~-]+)[ \t]*$/i.exec(header);
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return false;
  const userOK = timingSafeEqual(sha256(decoded.subarray(0, colon)), cfg.userDigest);
  const passOK = timingSafeEqual(sha256(decoded.subarray(colon + 1)), cfg.passDigest);
  return userOK & passOK ? true : false;
}

// FailureLimiter counts wrong credentials per client address and blocks an
// address that fails too often. It tracks at most maxEntries addresses so a
// flood of distinct addresses cannot exhaust memory.
export class FailureLimiter {
  constructor({ maxFailures, windowMs, blockMs, maxEntries = 10_000, now = Date.now }) {
    Object.assign(this, { maxFailures, windowMs, blockMs, maxEntries, now });
    this.entries = new Map(); // key -> {start, count, blockedUntil}
  }

  // blockedFor returns the milliseconds the key stays blocked, 0 if it is not.
  blockedFor(key) {
    const e = this.entries.get(key);
    if (!e) return 0;
    const left = e.blockedUntil - this.now();
    return left > 0 ? left : 0;
  }

  // fail records a failure and returns true when the key becomes blocked.
  fail(key) {
    const t = this.now();
    let e = this.entries.get(key);
    if (e && (e.blockedUntil ? e.blockedUntil <= t : t - e.start >= this.windowMs)) {
      this.entries.delete(key);
      e = undefined;
    }
    if (!e) {
      if (this.entries.size >= this.maxEntries) this.prune(t);
      e = { start: t, count: 0, blockedUntil: 0 };
      this.entries.set(key, e);
    }
    e.count++;
    if (e.count >= this.maxFailures && !e.blockedUntil) {
      e.blockedUntil = t + this.blockMs;
      return true;
    }
    return false;
  }

  succeed(key) {
    this.entries.delete(key);
  }

  prune(t = this.now()) {
    for (const [k, e] of this.entries) {
      if (e.blockedUntil ? e.blockedUntil <= t : t - e.start >= this.windowMs) this.entries.delete(k);
    }
    // Still full: forget the oldest addresses (Map keeps insertion order).
    for (const k of this.entries.keys()) {
      if (this.entries.size < this.maxEntries) break;
      this.entries.delete(k);
    }
  }
}

// clientAddress is the address throttling is keyed on. Behind an ALB the
// last X-Forwarded-For entry is the one the ALB appended itself (earlier
// entries come from the client and can be forged).
export function clientAddress(req) {
  const xff = req.headers['x-forwarded-for'];
  if (typeof xff === 'string') {
    const last = xff.split(',').pop().trim();
    if (last) return last.slice(0, 64);
  }
  return req.socket.remoteAddress ?? 'unknown';
}

function log(fields) {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');
}

function sendJSON(res, status, body, headers = {}) {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(data),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(data);
}

// forwardHeaders copies the request headers minus hop-by-hop ones, any
// header the Connection header names, and, with stripAuth, Authorization:
// in basic mode it carries this proxy's password, which Studio must not see.
function forwardHeaders(raw, stripAuth) {
  const named = new Set();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'connection') {
      for (const t of raw[i + 1].split(',')) named.add(t.trim().toLowerCase());
    }
  }
  const out = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(k) || named.has(k) || (stripAuth && k === 'authorization')) continue;
    if (out[k] === undefined) out[k] = raw[i + 1];
    else if (Array.isArray(out[k])) out[k].push(raw[i + 1]);
    else out[k] = [out[k], raw[i + 1]];
  }
  return out;
}

function responseHeaders(raw) {
  const named = new Set();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'connection') {
      for (const t of raw[i + 1].split(',')) named.add(t.trim().toLowerCase());
    }
  }
  const out = [];
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(k) || named.has(k)) continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

function pathOf(url) {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

// createProxy returns the HTTP server; childRunning() reports whether Studio's
// process is still running.
export function createProxy(cfg, { childRunning = () => true } = {}) {
  const limiter = new FailureLimiter(cfg);
  const sweeper = setInterval(() => limiter.prune(), 60_000);
  sweeper.unref();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  let probe = null; // shared by concurrent health checks
  function probeUpstream() {
    if (!childRunning()) return Promise.resolve(null);
    if (probe) return probe;
    probe = new Promise((resolve) => {
      const r = http.request({
        host: '127.0.0.1', port: cfg.upstreamPort, path: cfg.healthUpstreamPath, method: 'GET',
        agent: false, headers: { 'user-agent': 'studio-auth-proxy-health' }, timeout: 3000,
      }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      r.on('timeout', () => r.destroy(new Error('timeout')));
      r.on('error', () => resolve(null));
      r.end();
    }).finally(() => { probe = null; });
    return probe;
  }

  async function health(req, res) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJSON(res, 405, { error: 'method not allowed' }, { Allow: 'GET, HEAD' });
    }
    const status = await probeUpstream();
    if (status === null) return sendJSON(res, 503, { status: 'unavailable', upstream: 'down' });
    return sendJSON(res, 200, { status: 'ok', upstream: 'up', upstream_status: status });
  }

  // authorize answers the request itself (401/429) and returns false unless
  // it may proceed.
  function authorize(req, res) {
    if (cfg.mode === 'none') return true;
    const client = clientAddress(req);
    const wait = limiter.blockedFor(client);
    if (wait > 0) {
      sendJSON(res, 429, { error: 'too many failed logins, try again later' }, { 'Retry-After': String(Math.ceil(wait / 1000)) });
      return false;
    }
    const header = req.headers.authorization;
    if (checkBasic(header, cfg)) {
      limiter.succeed(client);
      return true;
    }
    // A request without credentials is how a browser asks for the login
    // prompt; only wrong credentials count as a guess.
    if (header !== undefined && limiter.fail(client)) {
      log({ level: 'warn', msg: 'client blocked after repeated failed logins', client, block_seconds: cfg.blockMs / 1000 });
    } else if (header !== undefined) {
      log({ level: 'warn', msg: 'failed login', client });
    }
    sendJSON(res, 401, { error: 'authentication required' }, { 'WWW-Authenticate': REALM });
    return false;
  }

  function forward(req, res) {
    const headers = forwardHeaders(req.rawHeaders, cfg.mode === 'basic');
    const up = http.request({
      host: '127.0.0.1', port: cfg.upstreamPort, method: req.method, path: req.url, headers, agent,
    });
    up.on('response', (ur) => {
      res.writeHead(ur.statusCode, ur.statusMessage, responseHeaders(ur.rawHeaders));
      ur.pipe(res);
      ur.on('error', () => res.destroy());
      ur.on('aborted', () => res.destroy());
    });
    up.on('error', (err) => {
      if (!res.headersSent) sendJSON(res, 502, { error: 'Studio is not reachable' });
      else res.destroy();
      if (err.code !== 'ECONNRESET') log({ level: 'error', msg: 'upstream error', code: err.code ?? 'unknown' });
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.on('error', () => up.destroy());
    req.pipe(up);
  }

  // handle serves one request; kind is 'request', 'continue' (the client
  // waits for 100 Continue before sending its body) or 'upgrade'.
  async function handle(req, res, kind) {
    const started = process.hrtime.bigint();
    // Only origin-form targets: an absolute URL could name another host or
    // carry userinfo that would end up in the logs.
    const path = req.url.startsWith('/') ? pathOf(req.url) : '(invalid)';
    res.on('finish', () => {
      log({
        level: 'info', msg: 'request', method: req.method, path, status: res.statusCode,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
    try {
      if (!req.url.startsWith('/')) return sendJSON(res, 400, { error: 'request target must be a path' });
      if (path === HEALTH_PATH && kind !== 'upgrade') return await health(req, res);
      if (!authorize(req, res)) return;
      // Studio's server uses no WebSockets, so upgrades are refused, after
      // authentication so an anonymous client learns nothing.
      if (kind === 'upgrade') return sendJSON(res, 501, { error: 'protocol upgrades (WebSocket) are not supported' });
      if (kind === 'continue') res.writeContinue();
      forward(req, res);
    } catch (err) {
      log({ level: 'error', msg: 'handler error', error: String(err?.message ?? err) });
      if (!res.headersSent) sendJSON(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  }

  const server = http.createServer();
  server.on('request', (req, res) => handle(req, res, 'request'));
  // Answer 401 before the client sends a large body, not after.
  server.on('checkContinue', (req, res) => handle(req, res, 'continue'));
  server.on('upgrade', (req, socket) => {
    // Node hands the raw socket over; answer on it once and close it.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => socket.end());
    socket.on('error', () => socket.destroy());
    handle(req, res, 'upgrade');
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  // An ALB keeps idle connections for 60 s; the target must keep them
  // longer or the ALB may reuse a closed one and answer 502.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('close', () => {
    clearInterval(sweeper);
    agent.destroy();
  });
  return server;
}

// main supervises Studio: the proxy lives exactly as long as the child.
function main() {
  let cfg;
  try {
    cfg = loadConfig(process.env, process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`studio auth proxy: refusing to start: ${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  if (cfg.mode === 'none') {
    log({ level: 'warn', msg: 'STUDIO_AUTH=none: the proxy does not authenticate; something in front must' });
  }

  const env = { ...process.env, PORT: String(cfg.upstreamPort), HOSTNAME: '127.0.0.1' };
  for (const k of PROXY_ONLY_ENV) delete env[k];
  const child = spawn(cfg.child[0], cfg.child.slice(1), { env, stdio: 'inherit' });
  let running = true;
  let stopping = false;

  const server = createProxy(cfg, { childRunning: () => running });
  server.on('error', (err) => {
    process.stderr.write(`studio auth proxy: cannot listen on port ${cfg.port}: ${err.code ?? err.message}\n`);
    child.kill('SIGTERM');
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 5000).unref();
  });
  server.listen(cfg.port, '0.0.0.0', () => {
    log({ level: 'info', msg: 'listening', port: server.address().port, upstream_port: cfg.upstreamPort, auth: cfg.mode });
  });

  child.on('error', (err) => {
    running = false;
    process.stderr.write(`studio auth proxy: cannot start Studio (${cfg.child[0]}): ${err.code ?? err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    running = false;
    log({ level: stopping ? 'info' : 'error', msg: 'studio exited', code, signal });
    server.close();
    // After a requested stop the child's own status is ours; an
    // unrequested exit is always a failure, so ECS replaces the task.
    if (stopping) process.exit(code ?? 0);
    process.exit(code ? code : 1);
  });

  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(sig, () => {
      if (!running) process.exit(1);
      stopping = true;
      server.close();
      child.kill(sig);
      // ECS sends SIGKILL after its stop timeout (30 s by default); give
      // Studio most of that, then make sure it goes.
      setTimeout(() => child.kill('SIGKILL'), 25_000).unref();
    });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
