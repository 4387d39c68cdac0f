import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/lab/browser';
import { startLabServer } from '../../scripts/lab/lab-server';
import { LAB_STATS_TOKEN, startStack, type Stack } from '../../scripts/lab/lab-stack';
import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';
import { seedConfig } from '../../testing/ccdr-stand-in';
import { waitFor } from '../../testing/wait';
import { buildGadget } from '../../gadget/build';

/**
 * The live queues as a supervisor sees them in Bitrix24: calls from the lab page wait in the lab's UCCX queue, its
 * snapshot writer fills the real-time tables every interval, the middleware reads them once per interval, and the
 * statistics page in the portal's frame (Chromium) shows the waiting call, then the agent taking it, then — the
 * writing turned off in UCCX — says plainly that the data is old. Screenshots go to SCREENSHOT_DIR when it is set.
 */
describe('live queues in the Bitrix24 frame', () => {
  const dir = mkdtempSync(join(tmpdir(), 'live-e2e-'));
  const shots = process.env.SCREENSHOT_DIR ?? dir;
  const path = join(dir, 'db_cra.sqlite');
  let stack: Stack;
  let lab: Awaited<ReturnType<typeof startLabServer>>;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    const s = new SqliteCcdrSource(path, { writable: true });
    seedConfig(s.db);
    await s.close();
    const gadgetDir = (await buildGadget(join(dir, 'gadget'))).outDir;
    stack = await startStack({ mode: 'app', finesse: { gadgetDir }, env: { CCDR_SQLITE_PATH: path, STATS_API_TOKEN: LAB_STATS_TOKEN, STATS_ALLOWED_USERS: '2', LIVE_INTERVAL_S: '5' } });
    lab = await startLabServer(stack, 0);
    const launched = await launchChromium();
    browser = launched.browser;
    page = await launched.context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    lab?.server.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const post = (p: string, body: unknown) => fetch(`${lab.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const open = async (lang: 'ru' | 'en'): Promise<Frame> => {
    await page.goto(`${stack.emulator.url}/lab/app?user=2&lang=${lang}`);
    await page.frameLocator('#app').locator('[data-live]').waitFor();
    return page.frame({ name: 'app' })!;
  };
  /** A cell of a queue's row in the live table, as the page shows it now. */
  const cell = (f: Frame, queue: string, col: string) =>
    f
      .locator(`[data-live] tr[data-queue="${queue}"] [data-col="${col}"]`)
      .textContent({ timeout: 1000 })
      .catch(() => null);

  it('shows the call waiting in the queue, then the agent who takes it', async () => {
    const f = await open('ru');
    await waitFor(async () => (await f.getAttribute('[data-live]', 'data-state')) === 'live', 30_000, 'the live section to be live');
    await post('/api/switches', { ready: [] });
    const call = await (await post('/api/call', { ani: '89123456789' })).json();
    expect(call.queued).toEqual({ csq: 'Sales', position: 1 });
    // The two tables are two reads (UCCX writes them apart): the per-queue row and the totals agree within an interval.
    const tile = () =>
      f
        .locator('[data-live] [data-kpi="waiting"] b')
        .textContent({ timeout: 1000 })
        .catch(() => null);
    await waitFor(async () => (await cell(f, 'Sales', 'waiting')) === '1' && (await tile()) === '1', 30_000, 'Sales and the total to show one waiting call');
    expect(await cell(f, 'Sales', 'oldest')).toMatch(/^0:00:\d\d$/);
    expect(await f.locator('[data-live] [data-live-source]').textContent()).toContain('RtCSQsSummary');
    await page.screenshot({ path: join(shots, 'live-ru.png'), fullPage: true });

    // Ivan becomes Ready: the call leaves the queue and rings, then he talks.
    await post('/api/switches', { ready: ['1021'] });
    await waitFor(async () => (await cell(f, 'Sales', 'waiting')) === '0' && (await cell(f, 'Sales', 'talking')) === '1', 30_000, 'the call to go to Ivan');
    expect(await cell(f, 'Sales', 'handled')).toBe('1');

    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/^uccx_csq_agents\{csq="Sales",state="talking"\} 1$/m);
    expect(metrics).toMatch(/^uccx_live_snapshot_up 1$/m);
    const wallboard = await (await fetch(`${stack.url}/api/stats/live`, { headers: { authorization: `Bearer ${LAB_STATS_TOKEN}` } })).json();
    expect(wallboard).toMatchObject({ source: 'db_cra', state: 'live', queues: [{ name: 'Sales', waiting: 0, calls: { handled: 1 } }, { name: 'Support' }] });
  });

  it('in English too, and says plainly when UCCX stops writing the snapshot', async () => {
    const f = await open('en');
    await waitFor(async () => (await cell(f, 'Sales', 'talking')) !== null, 30_000, 'the live table');
    await page.screenshot({ path: join(shots, 'live-en.png'), fullPage: true });
    // Dark, as the UI Kit's pages follow the reader's color scheme: the kit's dark background and light text.
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await f.evaluate(() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color])).toEqual(['rgb(15, 15, 15)', 'rgb(245, 247, 248)']);
    await page.screenshot({ path: join(shots, 'live-dark-en.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await f.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(245, 247, 248)');
    await post('/api/switches', { snapshot: false });
    await waitFor(async () => (await f.getAttribute('[data-live]', 'data-state')) === 'stale', 60_000, 'the page to call the data old');
    expect(await f.locator('[data-live-problem]').textContent()).toMatch(/^The data is old: UCCX last wrote it \d+ s ago \(interval 5 s\)\. Check that Data Writing Enable is on/);
    await page.screenshot({ path: join(shots, 'live-stale-en.png'), fullPage: true });
    await post('/api/switches', { snapshot: true });
    await waitFor(async () => (await f.getAttribute('[data-live]', 'data-state')) === 'live', 30_000, 'live again');
  }, 90_000);
});
