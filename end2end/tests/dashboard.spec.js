const { test, expect, ADMIN, USER, loginWithLink, watchConsole, waitInteractive, uniqueName, shot } = require('./support');

function seedRequest(name) {
  return {
    template_id: 'emergency_plan',
    section_id: '2',
    data: {
      enterprise_info: {
        enterprise_name: name, industry_type: '化工制造', address: '北京市朝阳区',
        main_products: '化工产品', employees_count: 100,
      },
    },
  };
}

async function statValue(page, key) {
  return Number(await page.locator(`[data-stat="${key}"] .stat-value`).innerText());
}

test('the dashboard refreshes by itself and its counters follow the traffic', async ({ page, request }) => {
  const problems = watchConsole(page);
  await loginWithLink(page, ADMIN, '/admin/cache');
  await waitInteractive(page);
  await expect(page.locator('h1')).toHaveText('缓存看板');
  await expect(page.getByTestId('ai-mode')).toHaveText('模拟生成器');
  const expectedBackend = process.env.E2E_REDIS_URL ? 'Redis + 本地 L1' : '内存';
  await expect(page.getByTestId('backend')).toHaveText(expectedBackend);
  await expect(page.getByTestId('state')).toHaveText('正常');
  // On Redis the figures are the deployment's, and this instance is in its list.
  const scope = process.env.E2E_REDIS_URL ? 'deployment' : 'instance';
  await expect(page.getByTestId('scope')).toHaveAttribute('data-scope', scope);
  const me = page.getByTestId('instances').locator('tbody tr', { hasText: '（本实例）' });
  await expect(me).toHaveCount(1);
  await expect(me).toHaveAttribute('data-live', 'true');
  await expect(me).toContainText('运行中');

  const misses = await statValue(page, 'misses');
  const hits = await statValue(page, 'hits');
  const body = seedRequest(uniqueName('看板企业'));
  const headers = { Authorization: `Bearer ${ADMIN}` };
  expect((await request.post('/api/ai/generate', { data: body, headers })).ok()).toBe(true);
  expect((await request.post('/api/ai/generate', { data: body, headers })).ok()).toBe(true);

  // No reload: the page polls.
  await expect(page.locator('[data-stat="misses"] .stat-value')).toHaveText(String(misses + 1));
  await expect(page.locator('[data-stat="hits"] .stat-value')).toHaveText(String(hits + 1));
  // Usage and cost, and every configured user against their limits.
  const usage = page.getByTestId('usage');
  await expect(usage.locator('h2')).toHaveText('用量与费用');
  await expect(usage.locator('[data-user="管理员"]')).toBeVisible();
  await expect(usage.locator('[data-user="额度用户"]')).toContainText('/ 1');
  await page.screenshot({ path: shot('dashboard.png'), fullPage: true });
  expect(problems).toEqual([]);
});

test('an admin clears the cache after confirming', async ({ page, request }) => {
  const headers = { Authorization: `Bearer ${ADMIN}` };
  const body = seedRequest(uniqueName('清除企业'));
  await request.post('/api/ai/generate', { data: body, headers });
  await loginWithLink(page, ADMIN, '/admin/cache');
  await waitInteractive(page);
  await expect(page.getByRole('button', { name: '清除缓存' })).toBeEnabled();

  let asked = '';
  page.once('dialog', (dialog) => {
    asked = dialog.message();
    dialog.accept();
  });
  await page.getByRole('button', { name: '清除缓存' }).click();
  await expect(page.getByTestId('clear-result')).toHaveText(/^已清除 [1-9]\d* 条缓存$/);
  expect(asked).toContain('确定要清除');

  const again = await request.post('/api/ai/generate', { data: body, headers });
  expect((await again.json()).cached).toBe(false);
});

test('dismissing the confirmation clears nothing', async ({ page, request }) => {
  const headers = { Authorization: `Bearer ${ADMIN}` };
  const body = seedRequest(uniqueName('保留企业'));
  await request.post('/api/ai/generate', { data: body, headers });
  await loginWithLink(page, ADMIN, '/admin/cache');
  await waitInteractive(page);
  await expect(page.getByRole('button', { name: '清除缓存' })).toBeEnabled();
  page.once('dialog', (dialog) => dialog.dismiss());
  await page.getByRole('button', { name: '清除缓存' }).click();
  await expect(page.getByTestId('clear-result')).toHaveText('');
  const again = await request.post('/api/ai/generate', { data: body, headers });
  expect((await again.json()).cached).toBe(true);
});

test('a user token cannot open the dashboard', async ({ page }) => {
  await loginWithLink(page, USER);
  const response = await page.goto('/admin/cache');
  expect(response.status()).toBe(403);
  await expect(page.locator('h1')).toHaveText('403 · 无权访问');
  await expect(page.getByRole('button', { name: '清除缓存' })).toHaveCount(0);
  await page.screenshot({ path: shot('forbidden.png'), fullPage: true });
});

test('an admin warms up every section of a template and sees it finish', async ({ page, request }) => {
  const problems = watchConsole(page);
  const name = uniqueName('预热企业');
  await loginWithLink(page, ADMIN, '/admin/cache');
  await waitInteractive(page);
  await expect(page.getByRole('button', { name: '预热全部章节' })).toBeEnabled();
  await page.selectOption('select[name="warmup_template_id"]', 'emergency_plan');
  await page.fill('input[name="warmup_enterprise_name"]', name);
  await page.fill('input[name="warmup_industry_type"]', '化工制造');
  await page.fill('input[name="warmup_address"]', '北京市朝阳区');
  await page.fill('input[name="warmup_main_products"]', '化工产品');
  await page.fill('input[name="warmup_employees_count"]', '100');
  await page.getByRole('button', { name: '预热全部章节' }).click();
  await expect(page.getByTestId('warmup-started')).toHaveText(/^已开始预热任务 #\d+$/);
  const job = page.locator('li.job').first();
  await expect(job).toContainText(name);
  await expect(job.getByTestId('job-progress')).toHaveText('9 / 9 · 完成');
  await expect(job.locator('progress')).toHaveAttribute('value', '9');
  await page.screenshot({ path: shot('dashboard-warmup.png'), fullPage: true });

  // Warmed as a whole plan (overview first, its text given to the rest): the plan comes from the cache.
  const body = seedRequest(name);
  delete body.section_id;
  const response = await request.post('/api/ai/generate-plan', { data: body, headers: { Authorization: `Bearer ${ADMIN}` } });
  const plan = await response.json();
  expect(plan.completed).toBe(9);
  expect(plan.sections.every((s) => s.cached)).toBe(true);
  expect(problems).toEqual([]);
});

test('a warm-up with missing fields says which', async ({ page }) => {
  await loginWithLink(page, ADMIN, '/admin/cache');
  await waitInteractive(page);
  await expect(page.getByRole('button', { name: '预热全部章节' })).toBeEnabled();
  await page.getByRole('button', { name: '预热全部章节' }).click();
  await expect(page.getByTestId('warmup-started')).toContainText('请填写企业名称');
});
