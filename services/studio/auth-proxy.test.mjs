// Tests of the Studio auth proxy: the real proxy process in front of a fake
// Studio child (testdata/fake-studio.mjs). Run: node --test (in this folder).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { FailureLimiter, checkBasic, loadConfig } from './auth-proxy.mjs';

const PROXY = fileURLToPath(new URL('./auth-proxy.mjs', import.meta.url));
const FAKE = fileURLToPath(new URL('./testdata/fake-studio.mjs', import.meta.url));
const PASSWORD = 'correct horse battery staple';
const WRONG = 'wrong horse battery staple!';

function basic(user, pass) {
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}
const GOOD = basic('supabase', PASSWORD);

// Each proxy runs in its own process group, killed whole (with its fake
// Studio) when it overstays, so a proxy that wrongly keeps running fails
// its test instead of hanging the run.
const started = new Set();
function killGroup(proc) {
  try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* already gone */ }
}
process.on('exit', () => { for (const proc of started) killGroup(proc); });

function run(args, env) {
  const proc = spawn(process.execPath, [PROXY, ...args], {
    env: { PATH: process.env.PATH, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  started.add(proc);
  proc.on('exit', () => started.delete(proc));
  return proc;
}

// exitCode waits for the process to exit, killing it after ms.
async function exitCode(proc, ms = 5000) {
  const timer = setTimeout(() => killGroup(proc), ms);
  const [code] = await once(proc, 'exit');
  clearTimeout(timer);
  killGroup(proc); // a child the proxy failed to stop
  return code;
}

async function freePort() {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

// startProxy runs the proxy with the fake Studio as its child and waits
// until the proxy listens (and, unless told otherwise, the child too).
async function startProxy({ env = {}, waitChild = true } = {}) {
  const upstreamPort = await freePort();
  const proc = run([process.execPath, FAKE], { STUDIO_UPSTREAM_PORT: String(upstreamPort), ...env });
  const p = { proc, upstreamPort, stdout: '', stderr: '', exit: exitCode(proc, 60_000) };
  proc.stderr.on('data', (d) => { p.stderr += d; });
  await new Promise((resolve, reject) => {
    const check = () => {
      const m = /"msg":"listening","port":(\d+)/.exec(p.stdout);
      if (m && (!waitChild || p.stdout.includes('fake-studio: listening'))) {
        p.port = Number(m[1]);
        resolve();
      }
    };
    proc.stdout.on('data', (d) => { p.stdout += d; check(); });
    proc.on('exit', (code) => reject(new Error(`proxy exited ${code}: ${p.stderr}`)));
    setTimeout(() => reject(new Error(`proxy not ready: ${p.stdout} ${p.stderr}`)), 10_000).unref();
  });
  p.stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await p.exit;
    }
  };
  return p;
}

// request sends one request and buffers the answer.
function request(port, { method = 'GET', path = '/', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode, statusMessage: res.statusMessage, headers: res.headers,
        body: Buffer.concat(chunks), dataEvents: chunks.length,
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

const json = (r) => JSON.parse(r.body.toString('utf8'));

describe('basic authentication (the default)', () => {
  let p;
  before(async () => { p = await startProxy({ env: { STUDIO_PASSWORD: PASSWORD } }); });
  after(async () => { await p.stop(); });

  test('no credentials: 401 with a Basic challenge', async () => {
    const r = await request(p.port, { path: '/headers' });
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Basic realm="Supabase Studio", charset="UTF-8"');
    assert.equal(json(r).error, 'authentication required');
  });

  test('wrong or malformed credentials: 401', async () => {
    for (const authorization of [
      basic('supabase', WRONG), basic('admin', PASSWORD), basic('supabase', ''),
      basic('supabase', PASSWORD + 'x'), basic('supabase', PASSWORD.slice(0, -1)),
      'Basic ' + Buffer.from(`supabase${PASSWORD}`).toString('base64'), // no colon
      'Bearer ' + Buffer.from(`supabase:${PASSWORD}`).toString('base64'),
      'Basic', 'Basic !!!', GOOD + ' extra',
    ]) {
      const r = await request(p.port, { path: '/headers', headers: { authorization, 'x-forwarded-for': '198.51.100.1' } });
      assert.equal(r.status, 401, authorization);
      assert.ok(r.headers['www-authenticate']);
    }
  });

  test('right credentials reach Studio with method, path, query and headers, without Authorization', async () => {
    const r = await request(p.port, {
      method: 'DELETE', path: '/headers?a=1&b=%20x',
      headers: { authorization: GOOD, 'x-custom': 'kept', 'proxy-authorization': 'Basic eDp5', host: 'studio.example.com' },
    });
    assert.equal(r.status, 200);
    const seen = json(r);
    assert.equal(seen.method, 'DELETE');
    assert.equal(seen.url, '/headers?a=1&b=%20x');
    assert.equal(seen.headers['x-custom'], 'kept');
    assert.equal(seen.headers.host, 'studio.example.com');
    assert.equal(seen.headers.authorization, undefined, 'Authorization is not forwarded');
    assert.equal(seen.headers['proxy-authorization'], undefined);
  });

  test('the scheme name is case-insensitive', async () => {
    const r = await request(p.port, { path: '/headers', headers: { authorization: GOOD.replace('Basic', 'bAsIc') } });
    assert.equal(r.status, 200);
  });

  test('a >1 MiB POST streams to Studio and back byte for byte', async () => {
    const body = randomBytes(1.5 * 1024 * 1024 + 123);
    const r = await request(p.port, {
      method: 'POST', path: '/echo-body', body,
      headers: { authorization: GOOD, 'content-length': body.length, 'content-type': 'application/octet-stream' },
    });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.headers['x-seen-framing']).cl, String(body.length));
    assert.ok(r.body.equals(body), 'byte-exact echo');
  });

  test('a chunked request body without a length streams through', async () => {
    const parts = [randomBytes(70_000), randomBytes(1), randomBytes(300_000)];
    const r = await request(p.port, {
      method: 'PUT', path: '/echo-body', body: Readable.from(parts),
      headers: { authorization: GOOD, 'transfer-encoding': 'chunked' },
    });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.headers['x-seen-framing']).te, 'chunked');
    assert.ok(r.body.equals(Buffer.concat(parts)));
  });

  test('a chunked response streams back intact', async () => {
    const r = await request(p.port, { path: '/chunked', headers: { authorization: GOOD } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    const want = [0, 1, 2, 3, 4].map((i) => `chunk ${i} `.padEnd(1000, '.') + '\n').join('');
    assert.equal(r.body.toString(), want);
    assert.ok(r.dataEvents > 1, 'the body arrives as it is produced, not buffered');
  });

  test('status, reason and repeated response headers are relayed', async () => {
    const r = await request(p.port, { path: '/cookies', headers: { authorization: GOOD } });
    assert.equal(r.status, 201);
    assert.equal(r.statusMessage, 'Made It');
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(r.headers['x-upstream'], 'yes');
  });

  test('Expect: 100-continue without credentials is refused before the body is sent', async () => {
    const status = await new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: p.port, method: 'POST', path: '/echo-body', agent: false,
        headers: { expect: '100-continue', 'content-length': 10 },
      }, (res) => { res.resume(); resolve(res.statusCode); });
      req.on('continue', () => reject(new Error('100 Continue sent to an anonymous client')));
      req.on('error', reject);
      req.flushHeaders();
    });
    assert.equal(status, 401);
  });

  test('Expect: 100-continue with credentials reaches Studio', async () => {
    const body = Buffer.from('0123456789');
    const r = await new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: p.port, method: 'POST', path: '/echo-body', agent: false,
        headers: { expect: '100-continue', 'content-length': body.length, authorization: GOOD },
      }, (res) => {
        const c = [];
        res.on('data', (d) => c.push(d));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(c) }));
      });
      req.on('continue', () => req.end(body));
      req.on('error', reject);
      req.flushHeaders();
    });
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(body));
  });

  test('WebSocket upgrades: 401 anonymous, 501 authenticated', async () => {
    for (const [headers, want] of [[{}, 401], [{ authorization: GOOD }, 501]]) {
      const status = await new Promise((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1', port: p.port, path: '/ws', agent: false,
          headers: { connection: 'Upgrade', upgrade: 'websocket', ...headers },
        });
        req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
        req.on('upgrade', () => reject(new Error('upgraded')));
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, want);
    }
  });

  test('the health path is open and reports Studio up', async () => {
    const r = await request(p.port, { path: '/_auth-proxy/health' });
    assert.equal(r.status, 200);
    assert.deepEqual(json(r), { status: 'ok', upstream: 'up', upstream_status: 200 });
    const h = await request(p.port, { method: 'POST', path: '/_auth-proxy/health' });
    assert.equal(h.status, 405);
  });

  test('Studio never sees the password; it listens on loopback and the internal port', async () => {
    const r = await request(p.port, { path: '/env', headers: { authorization: GOOD } });
    const env = json(r);
    assert.equal(env.STUDIO_PASSWORD, undefined);
    assert.equal(env.HOSTNAME, '127.0.0.1');
    assert.equal(env.PORT, String(p.upstreamPort));
  });

  test('absolute-form request targets are refused', async () => {
    const r = await request(p.port, { path: 'http://supabase:userinfo-secret@example.com/x', headers: { authorization: GOOD } });
    assert.equal(r.status, 400);
  });

  test('logs are JSON lines with method, path (no query), status and duration, never credentials', async () => {
    await request(p.port, { path: '/cookies?token=secret-query', headers: { authorization: GOOD } });
    await new Promise((r) => setTimeout(r, 50));
    const lines = p.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const entry = lines.find((l) => l.msg === 'request' && l.path === '/cookies' && l.status === 201);
    assert.ok(entry, 'request logged');
    assert.equal(entry.method, 'GET');
    assert.equal(typeof entry.duration_ms, 'number');
    for (const secret of [PASSWORD, WRONG, GOOD.slice(6), basic('supabase', WRONG).slice(6), 'secret-query', 'userinfo-secret']) {
      assert.ok(!p.stdout.includes(secret), 'a secret leaked into the log');
      assert.ok(!p.stderr.includes(secret));
    }
  });
});

describe('throttling', () => {
  let p;
  before(async () => {
    p = await startProxy({
      env: { STUDIO_PASSWORD: PASSWORD, STUDIO_AUTH_MAX_FAILURES: '3', STUDIO_AUTH_BLOCK_SECONDS: '2' },
    });
  });
  after(async () => { await p.stop(); });

  test('repeated wrong credentials from one address get 429, then recover', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.7, 192.0.2.10' }; // the ALB appends the last hop
    for (let i = 0; i < 3; i++) {
      const r = await request(p.port, { path: '/headers', headers: { ...attacker, authorization: basic('supabase', WRONG) } });
      assert.equal(r.status, 401);
    }
    let r = await request(p.port, { path: '/headers', headers: { ...attacker, authorization: GOOD } });
    assert.equal(r.status, 429, 'even the right password waits out the block');
    assert.ok(Number(r.headers['retry-after']) >= 1);
    assert.ok(!r.body.includes('Studio'));
    // A forged first hop does not escape: the key is the ALB's last hop.
    r = await request(p.port, { path: '/headers', headers: { 'x-forwarded-for': '10.9.9.9, 192.0.2.10', authorization: GOOD } });
    assert.equal(r.status, 429);
    r = await request(p.port, { path: '/headers', headers: { 'x-forwarded-for': '203.0.113.7, 192.0.2.11', authorization: GOOD } });
    assert.equal(r.status, 200, 'other clients are unaffected');
    r = await request(p.port, { path: '/_auth-proxy/health', headers: attacker });
    assert.equal(r.status, 200, 'health checks are never throttled');
    await new Promise((res) => setTimeout(res, 2100));
    r = await request(p.port, { path: '/headers', headers: { ...attacker, authorization: GOOD } });
    assert.equal(r.status, 200);
  });

  test('requests without credentials (the browser asking for the prompt) are not counted', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await request(p.port, { path: '/', headers: { 'x-forwarded-for': '192.0.2.20' } });
      assert.equal(r.status, 401);
    }
  });

  test('the socket address is the key without X-Forwarded-For, and a success resets the count', async () => {
    for (let i = 0; i < 2; i++) {
      assert.equal((await request(p.port, { path: '/', headers: { authorization: basic('x', WRONG) } })).status, 401);
    }
    assert.equal((await request(p.port, { path: '/headers', headers: { authorization: GOOD } })).status, 200);
    for (let i = 0; i < 2; i++) {
      assert.equal((await request(p.port, { path: '/', headers: { authorization: basic('x', WRONG) } })).status, 401);
    }
    assert.equal((await request(p.port, { path: '/headers', headers: { authorization: GOOD } })).status, 200);
    for (let i = 0; i < 3; i++) {
      await request(p.port, { path: '/', headers: { authorization: basic('x', WRONG) } });
    }
    assert.equal((await request(p.port, { path: '/headers', headers: { authorization: GOOD } })).status, 429);
  });
});

describe('FailureLimiter', () => {
  test('memory stays bounded under a flood of addresses', () => {
    let now = 0;
    const l = new FailureLimiter({ maxFailures: 2, windowMs: 60_000, blockMs: 60_000, maxEntries: 100, now: () => now });
    for (let i = 0; i < 10_000; i++) l.fail(`10.0.${i >> 8}.${i & 255}`);
    assert.ok(l.entries.size <= 100, `tracked ${l.entries.size}`);
  });

  test('failures older than the window are forgotten; blocks expire', () => {
    let now = 0;
    const l = new FailureLimiter({ maxFailures: 3, windowMs: 60_000, blockMs: 10_000, now: () => now });
    l.fail('a'); l.fail('a');
    now = 61_000;
    assert.equal(l.fail('a'), false, 'the window restarted');
    assert.equal(l.blockedFor('a'), 0);
    l.fail('a');
    assert.equal(l.fail('a'), true);
    assert.equal(l.blockedFor('a'), 10_000);
    now += 10_000;
    assert.equal(l.blockedFor('a'), 0);
    l.prune();
    assert.equal(l.entries.size, 0);
  });
});

describe('configuration', () => {
  test('checkBasic accepts only the exact pair', () => {
    const cfg = loadConfig({ STUDIO_PASSWORD: PASSWORD, STUDIO_USERNAME: 'ops' });
    assert.equal(checkBasic(basic('ops', PASSWORD), cfg), true);
    assert.equal(checkBasic(basic('ops', PASSWORD + ' '), cfg), false);
    assert.equal(checkBasic(basic('supabase', PASSWORD), cfg), false);
    assert.equal(checkBasic(undefined, cfg), false);
    assert.equal(cfg.password, undefined, 'only digests are kept');
  });

  test('unset STUDIO_AUTH means basic', () => {
    assert.throws(() => loadConfig({}), /STUDIO_PASSWORD is required/);
    assert.equal(loadConfig({ STUDIO_PASSWORD: PASSWORD }).mode, 'basic');
    assert.equal(loadConfig({ STUDIO_AUTH: '', STUDIO_PASSWORD: PASSWORD }).mode, 'basic');
  });

  for (const [name, env, message] of [
    ['no password', {}, /STUDIO_PASSWORD is required/],
    ['empty password', { STUDIO_PASSWORD: '' }, /STUDIO_PASSWORD is required/],
    ['a 15-character password', { STUDIO_PASSWORD: '123456789012345' }, /at least 16 characters/],
    ['an unknown mode', { STUDIO_AUTH: 'off', STUDIO_PASSWORD: PASSWORD }, /STUDIO_AUTH must be/],
    ['a username with a colon', { STUDIO_USERNAME: 'a:b', STUDIO_PASSWORD: PASSWORD }, /must not contain ":"/],
    ['a bad number', { STUDIO_PASSWORD: PASSWORD, STUDIO_AUTH_MAX_FAILURES: 'ten' }, /must be an integer/],
  ]) {
    test(`start is refused with ${name}`, async () => {
      const proc = run([process.execPath, FAKE], env);
      let out = '';
      let err = '';
      proc.stdout.on('data', (d) => { out += d; });
      proc.stderr.on('data', (d) => { err += d; });
      assert.equal(await exitCode(proc), 78);
      assert.match(err, /refusing to start/);
      assert.match(err, message);
      assert.ok(!out.includes('fake-studio'), 'Studio was not started');
      assert.ok(!out.includes('listening'));
    });
  }

  test('a 16-character password is enough', () => {
    assert.equal(loadConfig({ STUDIO_PASSWORD: '1234567890123456' }).mode, 'basic');
  });
});

describe('STUDIO_AUTH=none', () => {
  test('passes requests through without credentials, Authorization included, and says so at start', async () => {
    const p = await startProxy({ env: { STUDIO_AUTH: 'none' } });
    try {
      let r = await request(p.port, { path: '/headers?x=1' });
      assert.equal(r.status, 200);
      assert.equal(json(r).url, '/headers?x=1');
      r = await request(p.port, { path: '/headers', headers: { authorization: 'Bearer t' } });
      assert.equal(json(r).headers.authorization, 'Bearer t', 'not ours to remove');
      const first = JSON.parse(p.stdout.split('\n')[0]);
      assert.match(first.msg, /STUDIO_AUTH=none/);
    } finally {
      await p.stop();
    }
  });
});

describe('supervision', () => {
  test('health is 503 while Studio does not answer, 200 once it does; requests get 502 meanwhile', async () => {
    // Studio starts listening 4 s after the proxy: long enough for the first
    // requests to find it down on a loaded machine; then health turns 200
    // within a deadline.
    const p = await startProxy({ env: { STUDIO_PASSWORD: PASSWORD, FAKE_LISTEN_DELAY_MS: '4000' }, waitChild: false });
    try {
      let r = await request(p.port, { path: '/_auth-proxy/health' });
      assert.equal(r.status, 503);
      assert.deepEqual(json(r), { status: 'unavailable', upstream: 'down' });
      r = await request(p.port, { path: '/headers', headers: { authorization: GOOD } });
      assert.equal(r.status, 502);
      for (const deadline = Date.now() + 15000; Date.now() < deadline;) {
        await new Promise((res) => setTimeout(res, 250));
        r = await request(p.port, { path: '/_auth-proxy/health' });
        if (r.status === 200) break;
      }
      assert.equal(r.status, 200);
    } finally {
      await p.stop();
    }
  });

  test('the proxy exits non-zero when Studio exits, even with status 0', async () => {
    for (const code of ['0', '3']) {
      const p = await startProxy({ env: { STUDIO_PASSWORD: PASSWORD } });
      await request(p.port, { path: `/exit?code=${code}`, headers: { authorization: GOOD } });
      const timer = setTimeout(() => killGroup(p.proc), 5000);
      assert.equal(await p.exit, code === '0' ? 1 : 3);
      clearTimeout(timer);
    }
  });

  test('SIGTERM is passed to Studio and the proxy exits with its status', async () => {
    const p = await startProxy({ env: { STUDIO_PASSWORD: PASSWORD } });
    p.proc.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(p.proc), 5000);
    assert.equal(await p.exit, 0);
    clearTimeout(timer);
    assert.match(p.stdout, /fake-studio: got SIGTERM/);
  });

  test('a Studio command that cannot start fails the proxy', async () => {
    const proc = run(['/nonexistent/studio'], { STUDIO_PASSWORD: PASSWORD });
    let err = '';
    proc.stderr.on('data', (d) => { err += d; });
    assert.equal(await exitCode(proc), 1);
    assert.match(err, /cannot start Studio/);
  });
});
