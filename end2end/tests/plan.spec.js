// The whole plan: every section written with live progress, edited, exported to Word and
// Markdown; streaming and per-section failure against the scriptable fake upstream.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { test, expect, USER, loginWithLink, watchConsole, waitHydrated, waitInteractive, fillSeedForm, uniqueName, shot } = require('./support');

const TITLES = ['总则', '企业概况', '风险评估结果', '应急组织机构及职责', '信息报告与预警', '应急响应', '后期处置', '应急保障', '预案管理'];
const port = Number(process.env.E2E_PORT || 3107);
const failingApp = `http://127.0.0.1:${port + 1}`;
const upstream = `http://127.0.0.1:${port + 2}`;

async function steer(request, body) {
  await request.post(`${upstream}/control`, { data: body });
}

function section(page, title) {
  return page.locator('[data-testid="plan-section"]', { has: page.locator('h3', { hasText: title }) });
}

test.afterEach(async ({ request }) => {
  await steer(request, { mode: 'fail' });
});

test('whole plan: N / N, edit survives reload, Word and Markdown downloads', async ({ page }) => {
  test.setTimeout(90_000);
  const problems = watchConsole(page);
  await loginWithLink(page, USER);
  await waitHydrated(page);
  const name = uniqueName('整份预案企业');
  await fillSeedForm(page, name);
  await page.getByRole('button', { name: '生成整份预案' }).click();

  const count = page.getByTestId('plan-count');
  await expect(count).toHaveText(`9 / 9`, { timeout: 60_000 });
  for (const title of TITLES) {
    await expect(section(page, title)).toHaveAttribute('data-status', 'done');
  }
  // The overview went first and the later sections were told about it.
  await expect(section(page, '应急响应').getByTestId('section-text')).toHaveValue(/保持一致/);
  // Each section against the standard, and the plan's self-check by clause.
  for (const title of TITLES.slice(0, 8)) {
    await expect(section(page, title).getByTestId('check')).toContainText('要素齐全 ✓');
  }
  // The form gave no duty phone: marked, not made up.
  await expect(section(page, '信息报告与预警').locator('mark.placeholder').first()).toHaveText('（待补充：应急值守电话）');
  const selfCheck = page.getByTestId('self-check');
  await expect(selfCheck.locator('summary')).toContainText('全部要素齐全');
  await expect(selfCheck.locator('tbody tr')).toHaveCount(16);
  await expect(selfCheck.locator('tr[data-clause="6.3.2"]')).toContainText('信息报告与预警');
  await expect(selfCheck.locator('tr[data-clause="6.3.2"]')).toContainText('✓ 具备');
  await page.screenshot({ path: shot('plan-done.png'), fullPage: true });

  const edit = `【人工修改】${name} 的应急响应由总经理统一指挥。`;
  const text = section(page, '应急响应').getByTestId('section-text');
  await text.fill(edit.slice(0, -3));
  // Typed key by key: the box keeps focus while the plan updates around it.
  await text.pressSequentially(edit.slice(-3));
  await expect(text).toHaveValue(edit);
  await expect(section(page, '应急响应')).toContainText('已编辑');
  // The edit dropped the section's sub-headings: the check and the table say so at once.
  await expect(section(page, '应急响应').getByTestId('check')).toContainText('缺少：6.3.3 响应启动');
  await expect(selfCheck.locator('tr[data-clause="6.3.4"]')).toContainText('✗ 缺少');
  // Regenerating an edited section asks first; declining keeps the edit.
  page.once('dialog', (dialog) => dialog.dismiss());
  await section(page, '应急响应').getByRole('button', { name: '重新生成' }).click();
  await expect(text).toHaveValue(edit);
  await page.reload();
  await waitHydrated(page);
  await expect(section(page, '应急响应').getByTestId('section-text')).toHaveValue(edit);
  await expect(count).toHaveText('9 / 9');

  // The cover's and the approval page's particulars, kept with the plan.
  const meta = page.getByTestId('plan-meta');
  await meta.getByLabel('预案编号').fill('YJYA-2026-07');
  await meta.getByLabel('版本号').fill('V2.0');
  await meta.getByLabel('主要负责人（批准人）').fill('王五');

  const [word] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '导出 Word' }).click()]);
  expect(word.suggestedFilename()).toMatch(new RegExp(`^${name}-综合应急预案-\\d{4}-\\d{2}-\\d{2}\\.docx$`));
  const docxPath = path.join(os.tmpdir(), `${name}.docx`);
  await word.saveAs(docxPath);
  const docText = execFileSync('/usr/bin/python3', [path.join(__dirname, '..', 'check-docx.py'), docxPath]).toString();
  expect(docText).toContain(name);
  expect(docText).toContain(edit);
  for (const title of TITLES) expect(docText).toMatch(new RegExp(`\\d+ ${title}\\nSTYLE Heading 1`));
  // Cover, approval page, page numbers; each chapter's title once (as its heading); 一、 lines as
  // level-2 headings; what the form left empty highlighted.
  expect(docText).toContain('预案编号：YJYA-2026-07');
  expect(docText).toContain('版本号：V2.0');
  expect(docText).toContain('批 准 页');
  expect(docText).toContain('主要负责人：王五');
  expect(docText).toContain('FOOTER PAGE');
  for (const title of TITLES) expect(docText.split('\n')).not.toContain(title);
  expect(docText).toMatch(/\n一、信息接报\nSTYLE Heading 2\n/);
  expect(docText).toContain('HIGHLIGHT （待补充：应急值守电话）');
  expect(docText).toMatch(/附录 GB\/T 29639-2020 要素自查表\nSTYLE Heading 1/);
  // The annexes of clause 9: 9.1 points to its chapter, the enterprise's own lists are marked.
  expect(docText).toMatch(/\n附件\nSTYLE Heading 1\n附件1 生产经营单位概况\nSTYLE Heading 2\n见本预案第 2 章“企业概况”。/);
  expect(docText).toContain('HIGHLIGHT （待补充：与相关应急救援部门或单位签订的应急救援协议或备忘录）');

  // As LibreOffice (and WPS users) lay it out: no field code, real page numbers in the contents,
  // each chapter's title once, a page number on every page.
  const pdf = execFileSync('/usr/bin/python3', [path.join(__dirname, '..', 'check-pdf.py'), docxPath]).toString();
  expect(pdf).not.toContain('TOC \\o');
  expect(pdf).not.toContain('PAGEREF');
  const pages = pdf.split(/=== PAGE \d+ ===\n/).slice(1).map((p) => p.split('\n').map((l) => l.trim()).filter(Boolean));
  pages.forEach((lines, i) => expect(lines[lines.length - 1]).toBe(String(i + 1)));
  const contentsAt = pages.findIndex((lines) => lines.some((l) => /^目\s*录$/.test(l)));
  expect(contentsAt).toBeGreaterThan(0);
  const entries = pages[contentsAt].map((l) => l.match(/^(\d+ \S+?)\s*\.{3,}\s*(\d+)$/)).filter(Boolean);
  expect(entries.map((m) => m[1])).toEqual(TITLES.map((t, i) => `${i + 1} ${t}`));
  for (const [, label, page] of entries) {
    expect(pages[Number(page) - 1]).toContain(label);
    const body = pages.filter((_, i) => i !== contentsAt).flat();
    expect(body.filter((l) => l === label)).toHaveLength(1);
  }
  // (The self-check appendix names sections in its table; the chapters must not repeat them.)
  const chapters = pages.filter((lines) => !lines.some((l) => l.includes('要素自查表'))).flat();
  for (const title of TITLES) expect(chapters).not.toContain(title);

  const [markdown] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '导出 Markdown' }).click()]);
  expect(markdown.suggestedFilename()).toMatch(/\.md$/);
  const md = fs.readFileSync(await markdown.path(), 'utf8');
  expect(md).toContain(`# ${name}综合应急预案`);
  expect(md).toContain(edit);
  for (const [i, title] of TITLES.entries()) expect(md).toContain(`## ${i + 1}. ${title}`);
  expect(md).toContain('预案编号：YJYA-2026-07');
  expect(md).toContain('## 批准页');
  expect(md).toContain('### 一、信息接报');
  expect(md).toContain('| 6.3.2 | 预警 | 信息报告与预警 | 具备 |');
  expect(problems).toEqual([]);
});

test('streamed text shows up before the model has finished', async ({ page, request }) => {
  test.setTimeout(60_000);
  await steer(request, { mode: 'stream', hold: true });
  await page.goto(`${failingApp}/login?token=${USER}`);
  await waitHydrated(page);
  await fillSeedForm(page, uniqueName('流式企业'));
  await page.getByRole('button', { name: '生成整份预案' }).click();

  const overview = section(page, '企业概况');
  // The first pieces are on screen while the fake still holds back the last one.
  await expect(overview.getByTestId('section-text')).toHaveValue(/流式第一段/);
  await expect(overview).toHaveAttribute('data-status', 'writing');
  await expect(overview.getByTestId('section-text')).not.toHaveValue(/流式结束/);
  await page.screenshot({ path: shot('plan-streaming.png'), fullPage: true });

  await steer(request, { mode: 'stream', hold: false });
  await request.post(`${upstream}/release`);
  await expect(overview.getByTestId('section-text')).toHaveValue(/流式结束/);
  await expect(page.getByTestId('plan-count')).toHaveText('9 / 9', { timeout: 30_000 });
});

test('a failing section reports its error, the others complete, and it retries alone', async ({ page, request }) => {
  test.setTimeout(60_000);
  await steer(request, { mode: 'stream', failWhen: '“应急响应”' });
  await page.goto(`${failingApp}/login?token=${USER}`);
  await waitHydrated(page);
  await fillSeedForm(page, uniqueName('部分失败企业'));
  await page.getByRole('button', { name: '生成整份预案' }).click();

  const failed = section(page, '应急响应');
  await expect(failed).toHaveAttribute('data-status', 'failed', { timeout: 30_000 });
  await expect(failed.getByRole('alert')).toContainText('AI 服务暂时不可用');
  await expect(page.getByTestId('plan-count')).toHaveText('8 / 9', { timeout: 30_000 });
  for (const title of TITLES.filter((t) => t !== '应急响应')) {
    await expect(section(page, title)).toHaveAttribute('data-status', 'done');
  }
  await page.screenshot({ path: shot('plan-one-failed.png'), fullPage: true });

  await steer(request, { mode: 'stream' });
  await failed.getByRole('button', { name: '重试' }).click();
  await expect(failed).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('plan-count')).toHaveText('9 / 9');
});

test('the server goes on writing a plan whose page was closed; another browser shows it live', async ({ browser, request }) => {
  test.setTimeout(90_000);
  await steer(request, { mode: 'stream', hold: true });
  const name = uniqueName('关页企业');
  const first = await browser.newContext();
  const page = await first.newPage();
  await page.goto(`${failingApp}/login?token=${USER}`);
  await waitHydrated(page);
  await fillSeedForm(page, name);
  await page.getByRole('button', { name: '生成整份预案' }).click();
  await expect(section(page, '企业概况').getByTestId('section-text')).toHaveValue(/流式第一段/);
  await expect(page.getByTestId('job')).toHaveAttribute('data-state', 'running');
  await first.close();

  // Another browser, nothing shared but the user: the plan is listed, and opens mid-job.
  const second = await browser.newContext();
  const other = await second.newPage();
  const problems = watchConsole(other);
  await other.goto(`${failingApp}/login?token=${USER}&next=${encodeURIComponent('/plans')}`);
  await waitInteractive(other);
  const row = other.getByTestId('plan-row').filter({ hasText: name });
  await expect(row).toHaveCount(1);
  await row.getByRole('link', { name: '打开' }).click();
  await waitHydrated(other);
  await expect(other.getByTestId('job')).toHaveAttribute('data-state', 'running');
  await expect(other.getByTestId('job-line')).toContainText('服务器正在生成');
  const overview = section(other, '企业概况');
  await expect(overview).toHaveAttribute('data-status', 'writing');
  await expect(overview.getByTestId('section-text')).toHaveValue(/流式第一段/);
  await expect(overview.getByTestId('section-text')).not.toHaveValue(/流式结束/);
  await other.screenshot({ path: shot('plan-followed-elsewhere.png'), fullPage: true });

  // Released: it streams on, and every section lands in the saved plan.
  await steer(request, { mode: 'stream', hold: false });
  await request.post(`${upstream}/release`);
  await expect(overview.getByTestId('section-text')).toHaveValue(/流式结束/);
  await expect(other.getByTestId('plan-count')).toHaveText('9 / 9', { timeout: 30_000 });
  await expect(other.getByTestId('job')).toHaveAttribute('data-state', 'done');
  await expect(other.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  const list = await request.get(`${failingApp}/api/plans?q=${encodeURIComponent(name)}`, {
    headers: { Authorization: `Bearer ${USER}` },
  });
  const body = await list.json();
  expect(body.plans[0].sections_done).toBe(9);
  await second.close();
  expect(problems).toEqual([]);
});

test('a single section streams into the result panel too', async ({ page, request }) => {
  await steer(request, { mode: 'stream', hold: true });
  await page.goto(`${failingApp}/login?token=${USER}`);
  await waitHydrated(page);
  await fillSeedForm(page, uniqueName('单章流式企业'));
  await page.getByRole('button', { name: '生成章节' }).click();
  const result = page.locator('article.result');
  await expect(result.getByTestId('content')).toContainText('流式第一段');
  await expect(result.locator('.meta')).toHaveText('正在编写…');
  await expect(result.getByTestId('content')).not.toContainText('流式结束');
  await steer(request, { mode: 'stream', hold: false });
  await request.post(`${upstream}/release`);
  await expect(result.getByTestId('content')).toContainText('流式结束');
  await expect(result.locator('.meta')).toContainText('毫秒');
});
