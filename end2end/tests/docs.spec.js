const { test, expect, watchConsole, shot } = require('./support');

test('API docs load without logging in and without leaving the machine', async ({ page, baseURL }) => {
  const problems = watchConsole(page);
  const outside = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(baseURL) && !req.url().startsWith('data:')) outside.push(req.url());
  });
  await page.goto('/docs');
  await expect(page.locator('h1')).toHaveText('Yueen 应急预案编写 API');
  for (const path of ['/api/ai/generate', '/api/ai/cache/stats', '/api/ai/cache']) {
    await expect(page.locator(`section.operation[data-path="${path}"]`)).toHaveCount(1);
  }
  await page.locator('#schema-GenerateBody summary').click();
  await expect(page.locator('#schema-GenerateBody pre')).toContainText('template_id');
  await page.screenshot({ path: shot('docs.png'), fullPage: true });
  expect(outside).toEqual([]);
  expect(problems).toEqual([]);
});
