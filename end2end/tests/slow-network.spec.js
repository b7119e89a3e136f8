// The generator on a slow phone network, as bench/first-use.js measures it: a cold cache,
// 1.6 Mbit/s down, 150 ms round trip, CPU slowed 4×. No timing is asserted (the benchmark
// reports it); what must hold is that the page becomes usable, loads only its own code, and
// that every file it loads may be cached for good and arrives compressed.
const { test, expect, USER, fillSeedForm, uniqueName, watchConsole } = require('./support');

const SLOW = {
  offline: false,
  latency: 150,
  downloadThroughput: (1.6 * 1000 * 1000) / 8,
  uploadThroughput: (750 * 1000) / 8,
};

test('the generator works on a slow network, loading only its own code', async ({ browser, baseURL }) => {
  test.skip(!!process.env.E2E_REDIS_URL, 'how pages load does not depend on the cache backend');
  // The debug build's wasm is several times the release one's.
  test.setTimeout(180_000);

  // The session comes from the printed-link login, made without the throttle.
  const login = await browser.newContext({ baseURL });
  await (await login.newPage()).goto(`/login?token=${USER}`);
  const cookies = await login.cookies();
  await login.close();

  const context = await browser.newContext({ baseURL });
  await context.addCookies(cookies);
  const page = await context.newPage();
  const problems = watchConsole(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', SLOW);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });

  const files = [];
  page.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/pkg/')) files.push(r);
  });
  const html = await page.goto('/', { waitUntil: 'commit' });
  expect(html.headers()['cache-control']).toBe('private, no-cache');

  await page.waitForSelector('html[data-hydrated]', { timeout: 150_000 });
  const generate = page.getByRole('button', { name: '生成章节' });
  await expect(generate).toBeEnabled();

  // Only the generator's code: no other page's chunk was asked for.
  const names = files.map((r) => new URL(r.url()).pathname);
  expect(names.some((n) => n.endsWith('.wasm'))).toBe(true);
  expect(names.filter((n) => /dashboard|docs_route|login_route/.test(n))).toEqual([]);
  for (const r of files) {
    const headers = await r.allHeaders();
    // Content-hashed names, kept for a year without asking again.
    expect(new URL(r.url()).pathname).toMatch(/\.[A-Za-z0-9_-]{22}\.(wasm|js|css)$/);
    expect(headers['cache-control']).toBe('public, max-age=31536000, immutable');
    if (/\.(wasm|js)$/.test(r.url())) expect(['br', 'gzip']).toContain(headers['content-encoding']);
  }

  const name = uniqueName('慢网企业');
  await fillSeedForm(page, name);
  await generate.click();
  const content = page.locator('article.result').getByTestId('content');
  await expect(content).toContainText(`${name}位于北京市朝阳区`, { timeout: 60_000 });

  // Another page's code arrives when it is opened.
  const before = files.length;
  await page.getByRole('link', { name: 'API 文档' }).click();
  await expect(page).toHaveURL(/\/docs$/);
  await expect(page.getByText('/api/ai/generate').first()).toBeVisible({ timeout: 60_000 });
  const later = files.slice(before).map((r) => new URL(r.url()).pathname);
  expect(later.some((n) => n.includes('docs_route'))).toBe(true);
  expect(problems).toEqual([]);
  await context.close();
});
