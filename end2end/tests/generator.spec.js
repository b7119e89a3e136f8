const { test, expect, USER, QUOTA_USER, loginWithLink, watchConsole, waitHydrated, fillSeedForm, uniqueName, shot } = require('./support');

test.beforeEach(async ({ page }) => {
  await loginWithLink(page, USER);
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await waitHydrated(page);
});

test('generate a section, then get it from the cache', async ({ page }) => {
  const problems = watchConsole(page);
  const name = uniqueName('测试企业');
  await expect(page.locator('select[name="template_id"]')).toHaveValue('emergency_plan');
  await expect(page.locator('select[name="section_id"]')).toHaveValue('2');
  await fillSeedForm(page, name);

  await page.getByRole('button', { name: '生成章节' }).click();
  const result = page.locator('article.result');
  await expect(result.locator('h2')).toHaveText('企业概况');
  const content = result.getByTestId('content');
  await expect(content).toContainText('【这是 AI 生成的模拟内容】');
  await expect(content).toContainText(`${name}位于北京市朝阳区`);
  await expect(result.getByTestId('cached')).toHaveCount(0);
  await expect(result.locator('.meta')).toContainText('毫秒');
  // Checked against the standard; what the form left empty is marked in the text.
  await expect(result.getByTestId('check')).toContainText('要素齐全 ✓');
  await expect(result.getByTestId('check')).toContainText('待补充');
  await expect(content.locator('mark.placeholder', { hasText: '（待补充：应急值守电话）' })).toHaveCount(1);
  await page.screenshot({ path: shot('generator-result.png'), fullPage: true });

  await page.getByRole('button', { name: '生成章节' }).click();
  await expect(result.getByTestId('cached')).toHaveText('来自缓存');

  // 重新生成 bypasses the cache.
  await result.getByRole('button', { name: '重新生成' }).click();
  await expect(result.getByTestId('cached')).toHaveCount(0);
  expect(problems).toEqual([]);
});

test('a writer sees their own allowance, and a clear message once it is spent', async ({ page }) => {
  await expect(page.getByTestId('quota')).toContainText('用户1：今日已用');
  await loginWithLink(page, QUOTA_USER);
  await waitHydrated(page);
  await expect(page.getByTestId('quota')).toContainText('额度用户：今日已用 0 tokens，剩余 1（每日 1）');
  await fillSeedForm(page, uniqueName('额度企业'));
  await page.getByRole('button', { name: '生成章节' }).click();
  await expect(page.locator('article.result h2')).toHaveText('企业概况');
  await expect(page.getByTestId('quota-spent')).toContainText('今日的用量额度已用完');
  await expect(page.getByTestId('quota')).toContainText('剩余 0');
  await page.fill('input[name="enterprise_name"]', uniqueName('另一家'));
  await page.getByRole('button', { name: '生成章节' }).click();
  await expect(page.locator('div.alert', { hasText: '生成失败' })).toContainText('今日的用量额度（1 tokens）已用完');
  await page.screenshot({ path: shot('generator-quota.png'), fullPage: true });
});

test('model output is shown as text, never as HTML', async ({ page }) => {
  const name = `<img src=x onerror="window.__xss=1">${uniqueName('')}`;
  await fillSeedForm(page, name);
  await page.getByRole('button', { name: '生成章节' }).click();
  const content = page.getByTestId('content');
  await expect(content).toContainText('<img src=x');
  await expect(content.locator('img')).toHaveCount(0);
  expect(await page.evaluate(() => window.__xss)).toBeUndefined();
});

test('a missing required field shows a Chinese message and keeps the other inputs', async ({ page }) => {
  const name = uniqueName('缺字段企业');
  await fillSeedForm(page, name);
  await page.fill('input[name="address"]', '');
  await page.getByRole('button', { name: '生成章节' }).click();

  await expect(page.locator('#error-address')).toHaveText('请填写地址');
  await expect(page.locator('input[name="address"]')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('input[name="address"]')).toBeFocused();
  await expect(page.locator('input[name="enterprise_name"]')).toHaveValue(name);
  await expect(page.locator('input[name="employees_count"]')).toHaveValue('100');
  await expect(page.locator('article.result')).toHaveCount(0);
  await page.screenshot({ path: shot('generator-invalid.png'), fullPage: true });

  await page.fill('input[name="employees_count"]', '0');
  await page.fill('input[name="address"]', '北京市朝阳区');
  await page.getByRole('button', { name: '生成章节' }).click();
  await expect(page.locator('#error-employees_count')).toHaveText('从业人员数量不能小于 1');
  await expect(page.locator('#error-address')).toHaveText('');
});

test('the form survives a reload', async ({ page }) => {
  const name = uniqueName('刷新企业');
  await page.selectOption('select[name="template_id"]', 'onsite_plan');
  await page.selectOption('select[name="section_id"]', '3');
  await fillSeedForm(page, name);
  await page.fill('input[name="post_or_facility"]', '液氯储罐区');
  await page.reload();
  await waitHydrated(page);
  await expect(page.locator('select[name="template_id"]')).toHaveValue('onsite_plan');
  await expect(page.locator('select[name="section_id"]')).toHaveValue('3');
  await expect(page.locator('input[name="enterprise_name"]')).toHaveValue(name);
  await expect(page.locator('input[name="post_or_facility"]')).toHaveValue('液氯储罐区');

  await page.getByRole('button', { name: '生成章节' }).click();
  await expect(page.locator('article.result h2')).toHaveText('应急处置');
  await expect(page.getByTestId('content')).toContainText('液氯储罐区');
});

test('switching templates offers that template\'s sections', async ({ page }) => {
  await page.selectOption('select[name="template_id"]', 'special_plan');
  const options = page.locator('select[name="section_id"] option');
  await expect(options).toHaveCount(5);
  await expect(options.first()).toHaveText('1. 适用范围');
  await expect(page.locator('input[name="accident_types"], textarea[name="accident_types"]')).toHaveCount(1);
});

test('an AI outage shows a readable message and keeps the form', async ({ page }) => {
  const failing = `http://127.0.0.1:${Number(process.env.E2E_PORT || 3107) + 1}`;
  await page.goto(`${failing}/login?token=${USER}`);
  await waitHydrated(page);
  const name = uniqueName('故障企业');
  await fillSeedForm(page, name);
  await page.getByRole('button', { name: '生成章节' }).click();
  const alert = page.locator('.alert');
  await expect(alert).toContainText('生成失败：AI 服务暂时不可用（HTTP 503，已尝试 2 次），请稍后重试');
  await expect(alert).toContainText('您填写的内容已保留');
  await expect(page.locator('input[name="enterprise_name"]')).toHaveValue(name);
  expect(await page.content()).not.toContain('sk-e2e-fake-key');
  expect(await page.content()).not.toContain('scripted');
  await page.screenshot({ path: shot('generator-ai-failure.png'), fullPage: true });
});
