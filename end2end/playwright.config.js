// Browser tests run in Debian's Chromium (Playwright cannot download its own here) against the
// real server binary built by `cargo leptos build`, started from the project root.
const fs = require('fs');
const path = require('path');
const { defineConfig } = require('@playwright/test');

const port = Number(process.env.E2E_PORT || 3107);
const baseURL = `http://127.0.0.1:${port}`;
// A second app whose model API always fails, and the fake API itself.
const failingPort = port + 1;
const upstreamPort = port + 2;

// The memory and Redis rounds may run at once: each keeps its logs and results apart.
const mode = process.env.E2E_REDIS_URL ? 'redis' : 'memory';

// Each round saves plans in a SQLite file of its own, new for every run. Workers load this file
// too (TEST_WORKER_INDEX set), while the servers run: only the runner clears the files.
const dataDir = `target/e2e-data/${mode}`;
if (process.env.TEST_WORKER_INDEX === undefined) {
  for (const dir of [dataDir, `${dataDir}-failing`]) {
    fs.rmSync(path.join(__dirname, '..', dir), { recursive: true, force: true });
  }
}

const serverEnv = {
  DATA_DIR: dataDir,
  LEPTOS_SITE_ROOT: 'target/site',
  LOG_DIR: `target/e2e-logs/${mode}`,
  ADMIN_TOKEN: 'e2e-admin-token',
  USER_TOKENS: 'e2e-user-token',
  // Empty means unset, and stops a developer's .env from switching on a real model.
  OPENAI_API_KEY: '',
  REDIS_URL: process.env.E2E_REDIS_URL || '',
  // Every test logs in from the same address; the throttle is tested in tests/api.
  LOGIN_ATTEMPTS_PER_MINUTE: '10000',
  YUEEN_CONFIG: 'end2end/e2e.toml',
  // Nothing balances these servers: stop at once when the run ends.
  SHUTDOWN_DRAIN_SECS: '0',
};
const serverBin = process.env.E2E_SERVER_BIN || './target/debug/yueen';

module.exports = defineConfig({
  testDir: './tests',
  timeout: 90_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  // A test that fails is run once more and, if it then passes, reported as flaky (with what
  // its pages said the first time, see support.js): twice on the shared CI machine a page took
  // more than 30 s to hydrate. One that fails twice fails the run. E2E_RETRIES=0 turns it off.
  retries: Number(process.env.E2E_RETRIES ?? 1),
  reporter: [['list']],
  outputDir: `test-results/${mode}`,
  use: {
    baseURL,
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: [
    {
      command: serverBin,
      cwd: '..',
      url: `${baseURL}/login`,
      reuseExistingServer: false,
      timeout: 90_000,
      stdout: 'pipe',
      env: { ...serverEnv, LEPTOS_SITE_ADDR: `127.0.0.1:${port}` },
    },
    {
      command: 'node fake-upstream.js',
      url: `http://127.0.0.1:${upstreamPort}/health`,
      reuseExistingServer: false,
      env: { FAKE_UPSTREAM_PORT: String(upstreamPort) },
    },
    {
      command: serverBin,
      cwd: '..',
      url: `http://127.0.0.1:${failingPort}/login`,
      reuseExistingServer: false,
      timeout: 90_000,
      env: {
        ...serverEnv,
        LEPTOS_SITE_ADDR: `127.0.0.1:${failingPort}`,
        LOG_DIR: `target/e2e-logs/${mode}-failing`,
        DATA_DIR: `${dataDir}-failing`,
        OPENAI_API_KEY: 'sk-e2e-fake-key',
        OPENAI_BASE_URL: `http://127.0.0.1:${upstreamPort}/v1`,
        AI_MAX_RETRIES: '1',
        AI_RETRY_BASE_SECS: '0.05',
      },
    },
  ],
});
