const { test, expect } = require('@playwright/test');
const { ADMIN, loginWithLink, waitHydrated, shot } = require('./support');

test.use({ viewport: { width: 375, height: 740 } });

for (const path of ['/login', '/', '/admin/cache', '/no-such-page']) {
  test(`no horizontal scroll at 375 px on ${path}`, async ({ page }) => {
    if (path !== '/login') await loginWithLink(page, ADMIN);
    await page.goto(path);
    if (path === '/') await waitHydrated(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const name = path === '/' ? 'home' : path.replace(/\//g, '_');
    await page.screenshot({ path: shot(`mobile${name}.png`), fullPage: true });
  });
}

test('the form can be used with the keyboard alone', async ({ page }) => {
  await loginWithLink(page, ADMIN);
  await waitHydrated(page);
  await page.locator('select[name="template_id"]').focus();
  await page.keyboard.press('Tab');
  await expect(page.locator('select[name="section_id"]')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.locator('input[name="enterprise_name"]')).toBeFocused();
  const outline = await page.locator('input[name="enterprise_name"]').evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe('none');
});

test('unknown pages get a Chinese 404 page', async ({ page }) => {
  await loginWithLink(page, ADMIN);
  const response = await page.goto('/no-such-page');
  expect(response.status()).toBe(404);
  await expect(page.locator('h1')).toHaveText('页面不存在');
});
