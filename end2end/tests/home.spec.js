const { test, expect } = require('@playwright/test');

test('home page is server-rendered, then hydrated and interactive', async ({ page }) => {
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));

  await page.goto('/');
  await expect(page.locator('h1')).toHaveText('应急预案智能编写');
  await expect(page).toHaveTitle('Yueen 应急预案编写助手');

  // The marker is set by an Effect, which only runs once the wasm has hydrated the page.
  await expect(page.locator('[data-hydrated="true"]')).toHaveCount(1);

  const card = page.locator('[data-template="emergency_plan"]');
  const sections = card.locator('ol.sections');
  await expect(sections).toBeHidden();
  const toggle = card.locator('button[aria-controls="sections-emergency_plan"]');
  await expect(toggle).toHaveText('查看章节（9）');
  await toggle.click();
  await expect(sections).toBeVisible();
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await expect(toggle).toHaveText('收起章节');
  await expect(sections.locator('li[data-section="2"]')).toHaveText('企业概况');
  await expect(sections.locator('li')).toHaveCount(9);

  await page.screenshot({ path: 'test-results/home.png', fullPage: true });
  expect(problems).toEqual([]);
});

test('unknown pages get a Chinese 404 page', async ({ page }) => {
  const response = await page.goto('/no-such-page');
  expect(response.status()).toBe(404);
  await expect(page.locator('h1')).toHaveText('页面不存在');
});
