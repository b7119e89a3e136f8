// Plans saved on the server: written in one browser, opened in another as the same user; an
// edit made while the server cannot be reached kept in the browser and saved once it can; two
// tabs editing the same plan shown the conflict, both texts kept; versions, a side-by-side diff
// and a restore; 我的预案's rename, duplicate, delete and trash.
const { test, expect, USER, loginWithLink, watchConsole, waitHydrated, waitInteractive, writePlan, shot } = require('./support');

function section(page, title) {
  return page.locator('[data-testid="plan-section"]', { has: page.locator('h3', { hasText: title }) });
}

async function savedPlanNamed(request, name) {
  const list = await request.get(`/api/plans?q=${encodeURIComponent(name)}`, {
    headers: { Authorization: `Bearer ${USER}` },
  });
  expect(list.status()).toBe(200);
  const body = await list.json();
  expect(body.total).toBe(1);
  const one = await request.get(`/api/plans/${body.plans[0].id}`, {
    headers: { Authorization: `Bearer ${USER}` },
  });
  return (await one.json()).plan;
}

test('a plan written in one browser opens in another, exactly as left', async ({ page, browser, request }) => {
  test.setTimeout(120_000);
  const problems = watchConsole(page);
  const name = await writePlan(page);
  const edit = `【另一台电脑】${name} 的应急响应由厂长统一指挥。`;
  await section(page, '应急响应').getByTestId('section-text').fill(edit);
  await page.getByTestId('plan-meta').getByLabel('版本号').fill('V3.1');
  await expect(page.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  const saved = await savedPlanNamed(request, name);
  expect(saved.title).toBe(`${name}-综合应急预案`);
  expect(saved.plan.sections[5].content).toBe(edit);

  // Another browser (no shared storage), the same user: listed, opened, form and plan restored.
  const other = await browser.newContext();
  const second = await other.newPage();
  const secondProblems = watchConsole(second);
  await loginWithLink(second, USER, '/plans');
  await waitInteractive(second);
  const row = second.getByTestId('plan-row').filter({ hasText: name });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('9 / 9 章');
  await row.getByRole('link', { name: '打开' }).click();
  await waitHydrated(second);
  await expect(section(second, '应急响应').getByTestId('section-text')).toHaveValue(edit);
  await expect(second.getByTestId('plan-count')).toHaveText('9 / 9');
  await expect(second.getByTestId('plan-meta').getByLabel('版本号')).toHaveValue('V3.1');
  await expect(second.locator('input[name="enterprise_name"]')).toHaveValue(name);
  await expect(second.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  await second.screenshot({ path: shot('plan-opened-elsewhere.png'), fullPage: true });
  await other.close();
  expect(problems).toEqual([]);
  expect(secondProblems).toEqual([]);
});

test('an edit made while the server is unreachable is kept and saved when it is back', async ({ page, request }) => {
  test.setTimeout(120_000);
  const name = await writePlan(page);
  // Saving fails as it would with the server (or its database) down.
  await page.route('**/fn/save_plan', (route) => route.fulfill({
    status: 500,
    contentType: 'text/plain',
    body: '预案库暂时无法访问，您的修改仍保留在本机浏览器中，恢复后会自动保存',
  }));
  const edit = `【离线时写的】${name} 的后期处置由安全科负责。`;
  await section(page, '后期处置').getByTestId('section-text').fill(edit);
  const state = page.getByTestId('save-state');
  await expect(state).toHaveAttribute('data-state', 'offline');
  await expect(state).toContainText('修改已保存在本机浏览器');
  // A reload while still unreachable: the text is still there.
  await page.reload();
  await waitHydrated(page);
  await expect(section(page, '后期处置').getByTestId('section-text')).toHaveValue(edit, { timeout: 20_000 });
  expect((await savedPlanNamed(request, name)).plan.sections[6].content).not.toBe(edit);

  // Back: the retry sends it without anything being done.
  await page.unroute('**/fn/save_plan');
  // As the browser says when its connection is back: the waiting save goes at once.
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await expect(state).toHaveAttribute('data-state', 'saved', { timeout: 30_000 });
  expect((await savedPlanNamed(request, name)).plan.sections[6].content).toBe(edit);
});

test('two tabs editing one plan: the conflict is shown, both texts kept; versions, diff and restore', async ({ page, context, request }) => {
  test.setTimeout(120_000);
  const name = await writePlan(page);
  const saved = await savedPlanNamed(request, name);
  const second = await context.newPage();
  await second.goto(`/?plan=${saved.id}`);
  await waitHydrated(second);
  await expect(second.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');

  const mine = `【甲方案】${name}`;
  await section(page, '预案管理').getByTestId('section-text').fill(mine);
  await expect(page.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  const theirs = `【乙方案】${name}`;
  await section(second, '预案管理').getByTestId('section-text').fill(theirs);
  const conflict = second.getByTestId('conflict');
  await expect(conflict).toBeVisible({ timeout: 15_000 });
  await expect(conflict).toContainText('9. 预案管理');
  // Nothing was overwritten while the writer decides.
  expect((await savedPlanNamed(request, name)).plan.sections[8].content).toBe(mine);
  await second.screenshot({ path: shot('plan-conflict.png'), fullPage: true });
  await conflict.getByRole('button', { name: '保留本窗口的内容' }).click();
  await expect(second.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  expect((await savedPlanNamed(request, name)).plan.sections[8].content).toBe(theirs);

  // A named version, then the history: the replaced text kept, generations there too.
  await second.getByLabel('版本说明').fill('送审稿');
  await second.getByRole('button', { name: '保存版本' }).click();
  await expect(second.getByTestId('save-notice')).toContainText('已保存为版本');
  await second.getByTestId('history-link').click();
  await waitInteractive(second);
  const notes = second.getByTestId('version-note');
  await expect(notes.first()).toHaveText('送审稿');
  await expect(notes).toContainText(['保存冲突时被替换的另一处内容']);
  await expect(second.getByTestId('versions')).toContainText('生成：9. 预案管理');

  // Section 9 between the kept replaced text and now, side by side.
  const conflictRow = second.getByTestId('version-row').filter({ hasText: '保存冲突时被替换的另一处内容' });
  const version = (await conflictRow.locator('td').first().innerText()).trim();
  await second.getByTestId('diff-section').selectOption({ label: '9. 预案管理' });
  await second.getByTestId('diff-from').selectOption(version);
  const diff = second.getByTestId('diff');
  await expect(diff.locator('.diff-left mark').first()).toHaveText('甲');
  await expect(diff.locator('.diff-right mark').first()).toHaveText('乙');
  await second.screenshot({ path: shot('plan-versions.png'), fullPage: true });

  // Restore it: the plan has the first tab's text again.
  second.once('dialog', (dialog) => dialog.accept());
  await conflictRow.getByRole('button', { name: '恢复此版本' }).click();
  await expect(second.getByTestId('versions-message')).toContainText(`已恢复为版本 ${version}`);
  expect((await savedPlanNamed(request, name)).plan.sections[8].content).toBe(mine);
});

test('我的预案: search, rename, duplicate, delete to the trash and back', async ({ page }) => {
  test.setTimeout(120_000);
  const name = await writePlan(page);
  await page.goto('/plans');
  await waitInteractive(page);
  await page.getByLabel('按名称搜索').fill(name);
  const rows = page.getByTestId('plan-row');
  await expect(rows).toHaveCount(1);

  page.once('dialog', (dialog) => dialog.accept(`${name}-2027修订`));
  await rows.first().getByRole('button', { name: '重命名' }).click();
  await expect(page.getByTestId('plans-message')).toContainText('已重命名');
  await expect(rows.first().getByTestId('plan-title')).toHaveText(`${name}-2027修订`);

  await rows.first().getByRole('button', { name: '复制' }).click();
  await expect(rows).toHaveCount(2);
  await expect(page.getByTestId('plan-title')).toContainText([`${name}-2027修订（副本）`]);

  page.once('dialog', (dialog) => dialog.accept());
  await rows.filter({ hasText: '（副本）' }).getByRole('button', { name: '删除' }).click();
  await expect(page.getByTestId('plans-message')).toContainText('30 天内可恢复');
  await expect(rows).toHaveCount(1);
  await page.getByRole('tab', { name: '回收站' }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('后永久删除');
  await rows.first().getByRole('button', { name: '恢复' }).click();
  await expect(page.getByTestId('plans-message')).toContainText('已恢复');
  await page.getByRole('tab', { name: '预案' }).click();
  await expect(rows).toHaveCount(2);
});
