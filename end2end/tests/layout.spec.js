const { test, expect, ADMIN, USER, loginWithLink, waitHydrated, waitInteractive, writePlan, shot } = require('./support');

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

// After a whole plan has been written: no page is wider than the viewport, on a phone or a
// desktop, even with the longest version note a writer can give.
test('no page scrolls sideways at 375 or 1,280 px after a whole plan', async ({ page, browser, request }) => {
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  const name = await writePlan(page, '版式企业一个名称很长的化工有限责任公司');
  const auth = { Authorization: `Bearer ${USER}` };
  const list = await (await request.get(`/api/plans?q=${encodeURIComponent(name)}`, { headers: auth })).json();
  expect(list.total).toBe(1);
  const id = list.plans[0].id;
  // The versions the whole plan made (one per batch of sections saved) name them briefly:
  // a few listed, many counted (生成 9 章), never all nine titles on one line.
  const versions = await (await request.get(`/api/plans/${id}/versions`, { headers: auth })).json();
  const notes = versions.versions.map((v) => v.note);
  expect(notes.length).toBeGreaterThan(0);
  for (const note of notes) {
    expect(note, note).toMatch(/^生成(：| \d+ 章)/);
    expect([...note].length, note).toBeLessThanOrEqual(40);
  }
  // The longest note there can be, with no break in it.
  const long = await request.post(`/api/plans/${id}/versions`, { headers: auth, data: { note: '长'.repeat(200) } });
  expect(long.status()).toBe(201);

  const admin = await browser.newContext();
  const adminPage = await admin.newPage();
  await loginWithLink(adminPage, ADMIN);
  const pages = [
    [page, '/'],
    [page, `/?plan=${id}`],
    [page, '/plans'],
    [page, '/plans?trash=true'],
    [page, `/plans/${id}/versions`],
    [page, '/docs'],
    [page, '/no-such-page'],
    [adminPage, '/admin/cache'],
  ];
  for (const width of [375, 1280]) {
    for (const [p, path] of pages) {
      await p.setViewportSize({ width, height: 800 });
      await p.goto(path);
      await waitInteractive(p);
      if (path.includes('versions')) await expect(p.getByTestId('version-row')).toHaveCount(notes.length + 1);
      if (path.startsWith('/plans') && !path.includes('versions')) await expect(p.getByTestId('plan-row').first()).toBeVisible();
      if (path.startsWith('/?plan=')) await expect(p.getByTestId('plan-count')).toHaveText('9 / 9');
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      const name = `after-plan-${width}${path.replace(id, 'id').replace(/[/?=&]/g, '_')}.png`;
      await p.screenshot({ path: shot(name), fullPage: true });
      expect(overflow, `${path} at ${width} px is ${overflow} px too wide`).toBeLessThanOrEqual(0);
    }
  }
  await admin.close();
});
