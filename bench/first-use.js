// First use on a slow network, in a real browser: for each page, a cold cache, Chromium's
// network and CPU emulation (1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip, 4x CPU
// slowdown), and the time from navigation until the page answers to input, with the bytes of
// wasm and JS it loaded by then.
//   node bench/first-use.js BASE_URL ADMIN_TOKEN [RUNS]
// Prints one JSON object per page: {"page", "ms" (median), "runs", "wasm", "js" (bytes on the
// wire, as sent), "wasm_raw", "js_raw" (decoded)}.
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', 'end2end', 'node_modules', '@playwright/test'));

const [base, token, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 3);
const SLOW = {
  offline: false,
  latency: 150,
  downloadThroughput: (1.6 * 1000 * 1000) / 8,
  uploadThroughput: (750 * 1000) / 8,
};

// What "usable" means on each page: the document marked interactive once the page's code (a
// lazily loaded page's own chunk included) has hydrated it, and on / the generate button works.
const PAGES = [
  { page: '/', ready: async (p) => {
    await p.waitForSelector('html[data-hydrated]', { timeout: 120_000 });
    await p.getByRole('button', { name: '生成章节' }).waitFor({ state: 'visible' });
    await p.waitForFunction(() => {
      const b = [...document.querySelectorAll('button')].find((x) => x.textContent.trim() === '生成章节');
      return b && !b.disabled;
    }, null, { timeout: 120_000 });
  } },
  { page: '/admin/cache', ready: (p) => p.waitForSelector('html[data-hydrated]', { timeout: 120_000 }) },
  { page: '/docs', ready: (p) => p.waitForSelector('html[data-hydrated]', { timeout: 120_000 }) },
  // Opened without a session, as a visitor does.
  { page: '/login', anonymous: true, ready: (p) => p.waitForSelector('html[data-hydrated]', { timeout: 120_000 }) },
];

async function once(browser, cookie, { page: url, anonymous, ready }) {
  const context = await browser.newContext();
  if (cookie && !anonymous) await context.addCookies([cookie]);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  // FIRST_USE_FAST=1 (the test command's smoke run) keeps the script working without the wait.
  if (process.env.FIRST_USE_FAST !== '1') {
    await cdp.send('Network.emulateNetworkConditions', SLOW);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  }
  const urls = new Map();
  const bytes = { wasm: 0, js: 0, wasm_raw: 0, js_raw: 0 };
  let counting = true;
  // Bytes as they arrive, until the page is usable: what a chunk still loading then (the plan
  // cards', requested once the generator is hydrated) has not yet cost does not count.
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  const kindOf = (id) => {
    const u = urls.get(id) || '';
    return u.endsWith('.wasm') ? 'wasm' : u.endsWith('.js') ? 'js' : null;
  };
  cdp.on('Network.dataReceived', (e) => {
    const kind = kindOf(e.requestId);
    if (kind && counting) {
      bytes[`${kind}_raw`] += e.dataLength;
      bytes[kind] += e.encodedDataLength;
    }
  });
  const started = Date.now();
  await page.goto(base + url, { waitUntil: 'commit' });
  await ready(page);
  const ms = Date.now() - started;
  counting = false;
  await context.close();
  return { ms, ...bytes };
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  // A session cookie from the printed-link login, without throttling.
  const login = await browser.newContext();
  const lp = await login.newPage();
  await lp.goto(`${base}/login?token=${token}`);
  const cookie = (await login.cookies()).find((c) => c.name.includes('session')) || (await login.cookies())[0];
  await login.close();
  for (const p of PAGES) {
    const results = [];
    for (let i = 0; i < runs; i += 1) results.push(await once(browser, cookie, p));
    results.sort((a, b) => a.ms - b.ms);
    const mid = results[Math.floor(results.length / 2)];
    console.log(JSON.stringify({ page: p.page, runs: results.map((r) => r.ms), ...mid }));
  }
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
