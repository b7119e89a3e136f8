// The enterprise profile (企业档案): filled in as tables, a plan written from it, and the plan
// held against it: a phone number edited into a section that belongs to nobody is flagged at its
// paragraph, and the flag clears once it is put right.
const { test, expect, USER, loginWithLink, waitInteractive, waitHydrated, uniqueName, shot } = require('./support');

function section(page, title) {
  return page.locator('[data-testid="plan-section"]', { has: page.locator('h3', { hasText: title }) });
}

async function fillRow(page, sheet, cells) {
  const table = page.locator(`section[data-sheet="${sheet}"]`);
  await table.getByTestId(`add-${sheet}`).click();
  const row = table.getByTestId('sheet-row').last();
  for (const [label, value] of Object.entries(cells)) {
    const cell = row.getByLabel(label, { exact: true });
    if ((await cell.evaluate((e) => e.tagName)) === 'SELECT') {
      await cell.selectOption(value);
    } else {
      await cell.fill(value);
    }
  }
}

test('a profile filled in as tables writes a plan that is checked against it', async ({ page }) => {
  test.setTimeout(120_000);
  const name = uniqueName('档案化工');
  await loginWithLink(page, USER, '/enterprises');
  await waitInteractive(page);
  await page.getByTestId('new-profile-name').fill(name);
  await page.getByTestId('new-profile').click();
  await page.waitForURL(/\/enterprises\/[0-9a-f]{32}$/);
  const profileUrl = page.url();
  await waitInteractive(page);

  for (const [field, value] of [['industry_type', '化工制造'], ['address', '浙江省杭州市钱塘区'],
    ['main_products', '液氯'], ['employees_count', '120'], ['duty_phone', '0571 86901119']]) {
    await page.locator(`[data-field="${field}"]`).fill(value);
  }
  await fillRow(page, '工作组', { 工作组名称: '抢险救援组', 职责: '堵漏、关阀' });
  await fillRow(page, '应急组织', { 角色: '总指挥', 姓名: '周建国', 职务: '总经理', 手机: '139 0571 0001' });
  await fillRow(page, '应急组织', { 角色: '组长', 工作组: '抢险救援组', 姓名: '王立新', 职务: '车间主任', 手机: '13905710005' });
  await fillRow(page, '应急物资装备', { 名称: '正压式空气呼吸器', 数量: '8', 单位: '套', 存放位置: '液氯储罐区', 电话: '13905710005' });
  // A mistake first: the save is refused at that cell, and nothing typed is lost.
  await fillRow(page, '风险清单', { 风险单元: '液氯储罐区', 事故类别: '中毒和窒息', 可能性L: '3', 严重性S: '7' });
  await page.getByTestId('save-profile').click();
  await expect(page.getByTestId('profile-problems')).toContainText('风险清单第 1 行：严重性 S应为 1 到 5 的整数');
  const risk = page.locator('section[data-sheet="风险清单"]').getByTestId('sheet-row').first();
  await expect(risk.getByLabel('严重性S', { exact: true })).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('[data-field="address"]')).toHaveValue('浙江省杭州市钱塘区');
  await risk.getByLabel('严重性S', { exact: true }).fill('5');
  await page.getByTestId('save-profile').click();
  await expect(page.getByTestId('profile-status')).toContainText('已保存');
  await expect(page.getByTestId('profile-problems')).toHaveCount(0);
  // Kept as typed numbers are kept, and graded.
  const people = page.locator('section[data-sheet="应急组织"]').getByTestId('sheet-row');
  await expect(people.first().getByLabel('手机', { exact: true })).toHaveValue('13905710001');
  await expect(page.locator('[data-field="duty_phone"]')).toHaveValue('0571-86901119');
  await expect(risk).toContainText('较大风险');
  await page.screenshot({ path: shot('profile-tables.png'), fullPage: true });

  // A comprehensive plan from it, written by the server.
  await page.getByTestId('plan-from-profile').click();
  await page.waitForURL(/\/\?plan=[0-9a-f]{32}$/);
  await waitHydrated(page);
  await expect(page.getByTestId('plan-count')).toHaveText('9 / 9', { timeout: 60_000 });
  const org = section(page, '应急组织机构及职责');
  await expect(org.getByTestId('section-text')).toHaveValue(/总经理周建国（13905710001）/);
  await expect(page.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  await expect(org.getByTestId('fact-finding')).toHaveCount(0);

  // A phone number nobody in the profile has, edited in: flagged at its paragraph.
  const text = org.getByTestId('section-text');
  const original = await text.inputValue();
  const lines = original.split('\n');
  const at = lines.findIndex((l) => l.includes('13905710001'));
  await text.fill(original.replace('13905710001', '13905719999'));
  const finding = org.getByTestId('fact-finding');
  await expect(finding).toHaveCount(1, { timeout: 20_000 });
  await expect(finding).toContainText(`第 ${at + 1} 段`);
  await expect(finding).toContainText('电话 13905719999 不属于企业档案中的任何人员或单位');
  await page.screenshot({ path: shot('profile-finding.png'), fullPage: true });

  // Put right: the flag clears.
  await text.fill(original);
  await expect(finding).toHaveCount(0, { timeout: 20_000 });

  // On a phone the tables are cards: nothing scrolls sideways.
  await page.setViewportSize({ width: 375, height: 800 });
  for (const url of [profileUrl, '/enterprises']) {
    await page.goto(url);
    await waitInteractive(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await page.screenshot({ path: shot(`profile-375-${url === '/enterprises' ? 'list' : 'form'}.png`), fullPage: true });
    expect(overflow, `${url} at 375 px is ${overflow} px too wide`).toBeLessThanOrEqual(0);
  }
});
