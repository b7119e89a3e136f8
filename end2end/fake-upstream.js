// A stand-in OpenAI-compatible API for the browser tests, steered by the tests over HTTP:
//   POST /control {"mode": "fail"}                 every chat completion fails with 503 (default)
//   POST /control {"mode": "stream", "failWhen": "…", "hold": true}
//        streamed answers in pieces; prompts containing `failWhen` fail with 503; with `hold`,
//        the last piece waits for POST /release
//   GET  /health                                   "ok <calls>"
const http = require('http');

const port = Number(process.env.FAKE_UPSTREAM_PORT || 3109);
let calls = 0;
let control = { mode: 'fail', failWhen: null, hold: false };
let releases = [];

const PIECES = ['流式第一段：', '企业应急组织机构健全，', '职责分工明确。', '【流式结束】'];

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => resolve(data));
  });
}

function fail(res) {
  res.writeHead(503, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message: 'upstream overloaded (scripted)' } }));
}

async function stream(res) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (let i = 0; i < PIECES.length; i += 1) {
    if (i === PIECES.length - 1 && control.hold) {
      await new Promise((resolve) => releases.push(resolve));
    } else if (i > 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const chunk = { choices: [{ index: 0, delta: { content: PIECES[i] }, finish_reason: null }] };
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  res.end('data: [DONE]\n\n');
}

http
  .createServer(async (req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`ok ${calls}`);
      return;
    }
    const body = await readBody(req);
    if (req.url === '/control') {
      control = { mode: 'fail', failWhen: null, hold: false, ...JSON.parse(body || '{}') };
      res.end('ok');
      return;
    }
    if (req.url === '/release') {
      releases.forEach((resolve) => resolve());
      releases = [];
      res.end('ok');
      return;
    }
    calls += 1;
    let prompt = '';
    try {
      prompt = JSON.parse(body).messages[1].content;
    } catch (_) {
      // not a chat completion: treat as failing
    }
    if (control.mode !== 'stream' || (control.failWhen && prompt.includes(control.failWhen))) {
      fail(res);
      return;
    }
    await stream(res);
  })
  .listen(port, '127.0.0.1');
