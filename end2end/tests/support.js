// Shared steps for the browser tests. Tokens match playwright.config.js's webServer env.
const path = require('path');
const { test: base, expect } = require('@playwright/test');

/**
 * Playwright's `test` whose browser context keeps what its pages said (console messages,
 * uncaught errors, failed requests), printed when a test fails: a page that never became
 * interactive on the shared CI machine then says why (a panic, a chunk that did not load, or
 * nothing: only slow).
 */
const test = base.extend({
  context: async ({ context }, use, testInfo) => {
    const started = Date.now();
    const said = [];
    const at = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
    context.on('console', (m) => said.push(`${at()} console.${m.type()}: ${m.text().slice(0, 500)}`));
    context.on('weberror', (e) => said.push(`${at()} uncaught: ${e.error().message.slice(0, 500)}`));
    context.on('requestfailed', (r) => said.push(`${at()} request failed: ${r.url()} ${r.failure()?.errorText}`));
    // Each page's own document: where it came from and the policy it carried (once, in CI, a
    // reloaded page arrived with the policy meant for non-pages and could not run its code).
    context.on('response', (r) => {
      if (r.request().resourceType() !== 'document') return;
      const csp = (r.headers()['content-security-policy'] || '(none)').slice(0, 40);
      said.push(`${at()} document ${r.status()} ${r.url()} from ${r.fromServiceWorker() ? 'worker' : 'network'} csp: ${csp}`);
    });
    context.on('requestfinished', async (r) => {
      if (!/\.(wasm|js)$/.test(new URL(r.url()).pathname)) return;
      const t = r.timing();
      said.push(`${at()} loaded ${new URL(r.url()).pathname} in ${Math.round(t.responseEnd)} ms`);
    });
    await use(context);
    if (testInfo.status !== testInfo.expectedStatus) {
      console.log(`What the pages of “${testInfo.title}” said:\n  ${said.join('\n  ') || '(nothing)'}`);
    }
  },
});

const ADMIN = 'e2e-admin-token';
const USER = 'e2e-user-token';
// A named user of end2end/e2e.toml whose daily allowance is one token.
const QUOTA_USER = 'e2e-quota-token-1234';

/** Logs in through the printed-link form of /login. */
async function loginWithLink(page, token, next) {
  const query = next ? `&next=${encodeURIComponent(next)}` : '';
  await page.goto(`/login?token=${token}${query}`);
}

/** Fails the test on any console error or uncaught exception. */
function watchConsole(page) {
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  return problems;
}

/**
 * Waits until the page's code (a lazily loaded page's own chunk included) has hydrated it. The
 * debug build's wasm is several megabytes: while both test rounds share the machine, this can
 * take longer than an ordinary expectation waits (5–9 s measured with Chromium's CPU slowed
 * 20×; more than 30 s twice in CI, on a busy shared machine).
 */
async function waitInteractive(page) {
  await expect(page.locator('html[data-hydrated]')).toHaveCount(1, { timeout: 50_000 });
}

async function waitHydrated(page) {
  await waitInteractive(page);
  // ...and the generate button, rendered disabled, enabled by it.
  await expect(page.getByRole('button', { name: '生成章节' })).toBeEnabled();
}

async function fillSeedForm(page, name) {
  await page.fill('input[name="enterprise_name"]', name);
  await page.fill('input[name="industry_type"]', '化工制造');
  await page.fill('input[name="address"]', '北京市朝阳区');
  await page.fill('input[name="main_products"]', '化工产品');
  await page.fill('input[name="employees_count"]', '100');
}

/** Where a page screenshot goes: end2end/artifacts/<cache mode>/, kept after the run. */
function shot(file) {
  const mode = process.env.E2E_REDIS_URL ? 'redis' : 'memory';
  return path.join(__dirname, '..', 'artifacts', mode, file);
}

function uniqueName(prefix) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** A whole plan for a new enterprise (its name starting with `prefix`), written by USER and
 * saved; the enterprise's name. */
async function writePlan(page, prefix = '保存企业') {
  await loginWithLink(page, USER);
  await waitHydrated(page);
  const name = uniqueName(prefix);
  await fillSeedForm(page, name);
  await page.getByRole('button', { name: '生成整份预案' }).click();
  await expect(page.getByTestId('plan-count')).toHaveText('9 / 9', { timeout: 60_000 });
  await expect(page.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  return name;
}

module.exports = {
  test, expect, QUOTA_USER, ADMIN, USER, loginWithLink, watchConsole, waitInteractive, waitHydrated, fillSeedForm, uniqueName, writePlan, shot };
