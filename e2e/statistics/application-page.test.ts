import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../scripts/lab/browser';
import { fillStandIn } from '../../scripts/lab/ccdr-generator';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';

/** The statistics page inside Bitrix24: frame authentication, allow-list, charts in a real browser. */
describe('/bitrix/app (statistics inside Bitrix24)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'app-'));
  const path = join(dir, 'db_cra.sqlite');
  let stack: Stack;
  beforeAll(async () => {
    const s = new SqliteCcdrSource(path, { writable: true });
    fillStandIn(s.db, { from: '2024-03-01', days: 31, timeZone: 'Europe/Moscow', callsPerDay: 150 });
    await s.close();
    stack = await startStack({ mode: 'app', env: { CCDR_SQLITE_PATH: path, STATS_ALLOWED_DEPARTMENTS: '2', STATS_ALLOWED_USERS: '1' } });
  });
  afterAll(() => stack.stop());

  const post = (form: Record<string, string>, query = 'LANG=en') =>
    fetch(`${stack.url}/bitrix/app?${query}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });

  it('shows the report to a member of an allowed department, in the portal language', async () => {
    const res = await post(stack.emulator.frameForm(2), 'LANG=ru&from=2024-03-01&to=2024-03-31');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<html lang="ru">');
    expect(html).toContain('Статистика контакт-центра');
    expect(html).toMatch(/data-kpi="presented">Поступило<b>\d+<\/b>/);
    expect(html).toContain('<canvas id="volumeChart"');
    expect(html).not.toContain(stack.emulator.frameForm(2).AUTH_ID); // Bitrix24's token never echoes into the page
  });

  it.each([
    ['a forged AUTH_ID', () => ({ ...stack.emulator.frameForm(2), AUTH_ID: 'f'.repeat(72) }), 'Bitrix24 did not accept the frame token'],
    ["another portal's member_id", () => ({ ...stack.emulator.frameForm(2), member_id: 'someone-else' }), 'the page was opened from another portal'],
    ['a wrong application token', () => ({ ...stack.emulator.frameForm(2), APPLICATION_TOKEN: 'x'.repeat(32) }), 'the application token does not match the install'],
    ['a user who is not allowed', () => stack.emulator.frameForm(5), 'user #5 may not view the statistics'],
    ['no frame token at all', () => ({}), 'no AUTH_ID: open the page from Bitrix24'],
  ])('refuses %s with a clear 403 page', async (_name, form, reason) => {
    const res = await post(form());
    expect(res.status).toBe(403);
    const html = await res.text();
    expect(html).toContain('No access to the statistics');
    expect(html).toContain(reason);
  });

  it('refuses a forged or expired page session', async () => {
    const res = await fetch(`${stack.url}/bitrix/app?s=2.99999999999999.forged&lang=en`);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('the page session expired or is not valid');
    const live = await fetch(`${stack.url}/bitrix/app/live.json?s=2.99999999999999.forged`);
    expect([live.status, await live.text()]).toEqual([403, 'the page session expired or is not valid: open the application again from Bitrix24\n']);
  });

  it("gives the page's live section the snapshot with the page's own session", async () => {
    const html = await (await post(stack.emulator.frameForm(2), 'LANG=ru&from=2024-03-01&to=2024-03-31')).text();
    expect(html).toContain('<section class="live" data-live data-state="starting">');
    const url = /"url":"(\/bitrix\/app\/live\.json\?s=[^"]+)"/.exec(html)![1]!;
    const res = await fetch(`${stack.url}${url}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ source: 'db_cra', intervalSeconds: 5 });
  });

  it('opens from Telephony → Call statistics (TELEPHONY_ANALYTICS_MENU) as from the application menu', async () => {
    const form = { ...stack.emulator.frameForm(2), PLACEMENT: 'TELEPHONY_ANALYTICS_MENU', PLACEMENT_OPTIONS: '{"URI":"/report/telephony/?IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER"}' };
    const res = await post(form, 'LANG=ru&from=2024-03-01&to=2024-03-31');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Статистика контакт-центра');
  });

  it('filters and CSV links work with the page session', async () => {
    const html = await (await post(stack.emulator.frameForm(1), 'LANG=en&from=2024-03-01&to=2024-03-31')).text();
    const csv = /href="(\/bitrix\/app\/csv\/agents\?[^"]+)"/.exec(html)![1]!.replace(/&#38;/g, '&');
    const res = await fetch(`${stack.url}${csv}`);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // a BOM: spreadsheets read UTF-8 then
    expect(bytes.toString('utf8').slice(1).split('\r\n')[0]).toBe('agent,login,extension,presented,handled,rna,talkSeconds,holdSeconds,workSeconds,avgHandleSeconds,invalidTimes');
    const self = /action="([^"]+)"/.exec(html)![1]!;
    const s = /name="s" value="([^"]+)"/.exec(html)![1]!;
    const filtered = await (await fetch(`${stack.url}${self}?s=${encodeURIComponent(s)}&lang=en&from=2024-03-10&to=2024-03-10&queue=Support`)).text();
    expect(filtered).toContain('<option value="Support" selected>');
    expect(filtered).toContain('value="2024-03-10"');
  });

  it('says plainly when the call database is unavailable (503), and lookups go on', async () => {
    const other = await startStack({ mode: 'app', env: { CCDR_SQLITE_PATH: join(dir, 'missing.sqlite'), STATS_ALLOWED_USERS: '1' } });
    try {
      const res = await fetch(`${other.url}/bitrix/app?LANG=en`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(other.emulator.frameForm(1)).toString(),
      });
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('Statistics unavailable');
    } finally {
      await other.stop();
    }
  });

  describe('in Chromium, framed by the portal', () => {
    let browser: Browser;
    afterAll(() => browser?.close());
    it('draws the charts', async () => {
      const { browser: b, context } = await launchChromium();
      browser = b;
      const page = await context.newPage();
      await page.goto(`${stack.emulator.url}/lab/app?user=2&lang=en&from=2024-03-01&to=2024-03-31`);
      const frame = page.frameLocator('#app');
      await frame.locator('#csqChart').waitFor();
      const charts = await page.frame({ name: 'app' })!.evaluate(() => {
        const w = window as unknown as { fb24Charts?: Array<{ data: { labels: unknown[] } }> };
        // A drawn canvas has coloured pixels: count the non-transparent ones.
        const painted = (id: string) => {
          const c = document.getElementById(id) as HTMLCanvasElement;
          const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
          return n;
        };
        return { count: w.fb24Charts?.length ?? 0, labels: w.fb24Charts?.[1]?.data.labels ?? [], volume: painted('volumeChart'), csq: painted('csqChart') };
      });
      expect(charts.count).toBe(2);
      expect(charts.labels).toEqual(['Sales', 'Support']);
      expect(charts.volume).toBeGreaterThan(1000);
      expect(charts.csq).toBeGreaterThan(1000);
      await page.screenshot({ path: join(dir, 'stats-page.png'), fullPage: true });
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
});
