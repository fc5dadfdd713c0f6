// Stands in for Studio's server in the proxy's tests: listens where the
// proxy tells it to (PORT, HOSTNAME) and answers a few diagnostic routes.
import http from 'node:http';

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  switch (url.pathname) {
    case '/api/platform/profile':
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"profile":true}');
    case '/headers':
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
    case '/env':
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(process.env));
    case '/echo-body': {
      // Streams the body back as it arrives, without a length.
      const seen = { te: req.headers['transfer-encoding'] ?? null, cl: req.headers['content-length'] ?? null };
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-seen-framing': JSON.stringify(seen) });
      return req.pipe(res);
    }
    case '/chunked': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const next = () => {
        if (i === 5) return res.end();
        res.write(`chunk ${i++} `.padEnd(1000, '.') + '\n');
        setTimeout(next, 20);
      };
      return next();
    }
    case '/cookies':
      res.writeHead(201, 'Made It', [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-upstream', 'yes']].flat());
      return res.end();
    case '/exit':
      res.end('bye');
      return setTimeout(() => process.exit(Number(url.searchParams.get('code') ?? 0)), 10);
    default:
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
  }
});

process.on('SIGTERM', () => {
  process.stdout.write('fake-studio: got SIGTERM\n');
  process.exit(0);
});

const delay = Number(process.env.FAKE_LISTEN_DELAY_MS ?? 0);
if (delay >= 0) {
  setTimeout(() => {
    server.listen(Number(process.env.PORT), process.env.HOSTNAME, () => {
      process.stdout.write(`fake-studio: listening on ${process.env.HOSTNAME}:${process.env.PORT}\n`);
    });
  }, delay);
} else {
  // Alive but never answering: what a hung Studio looks like.
  setInterval(() => {}, 60_000);
}
