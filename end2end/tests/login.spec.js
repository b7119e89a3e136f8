const { test, expect, ADMIN, USER, loginWithLink, watchConsole, shot } = require('./support');

test('visitors are sent to the login page', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.locator('h1')).toHaveText('登录');
  await page.screenshot({ path: shot('login.png'), fullPage: true });
});

test('login with a token in the form, then log out', async ({ page }) => {
  const problems = watchConsole(page);
  await page.goto('/login');
  await page.fill('#token', USER);
  await page.getByRole('button', { name: '登录' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('h1')).toHaveText('生成预案章节');
  await expect(page.locator('.who')).toHaveText('用户');
  // Users see no dashboard link.
  await expect(page.getByRole('link', { name: '缓存看板' })).toHaveCount(0);

  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'yueen_session');
  expect(session.httpOnly).toBe(true);
  expect(session.sameSite).toBe('Strict');
  expect(session.value).not.toContain(USER);

  await page.getByRole('button', { name: '退出登录' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  expect(problems).toEqual([]);
});

test('a wrong token shows a Chinese error', async ({ page }) => {
  await page.goto('/login');
  await page.fill('#token', 'not-the-right-token');
  await page.getByRole('button', { name: '登录' }).click();
  await expect(page.locator('#token-error')).toHaveText('令牌无效，请检查后重试。');
});

test('the printed login link logs in directly and keeps the target page', async ({ page }) => {
  await loginWithLink(page, ADMIN, '/admin/cache');
  await expect(page).toHaveURL(/\/admin\/cache$/);
  await expect(page.locator('h1')).toHaveText('缓存看板');
  await expect(page.locator('.who')).toHaveText('管理员');
});
