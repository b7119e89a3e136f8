// A stand-in OpenAI-compatible API for the browser tests: every chat completion fails with 503,
// so the page's handling of an AI outage can be seen in a real browser.
const http = require('http');

const port = Number(process.env.FAKE_UPSTREAM_PORT || 3109);
let calls = 0;

http
  .createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`ok ${calls}`);
      return;
    }
    calls += 1;
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'upstream overloaded (scripted)' } }));
  })
  .listen(port, '127.0.0.1');
