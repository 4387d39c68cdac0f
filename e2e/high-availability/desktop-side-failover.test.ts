import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { waitFor } from '../../testing/wait';
import { launchChromium } from '../../scripts/lab/browser';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { buildGadget } from '../../gadget/build';

/**
 * A Finesse failover under the desktop, in real Chromium: side A goes out of service, the desktop moves to side B
 * once B is in service (a new page on B, the gadget loaded afresh from B's origin — without A's storage). The call
 * that popped on A does not pop again; the next call pops; the middleware checks the agent on B; clicks dial via B.
 */
// A hang guard, not a timing goal: Chromium tests on a loaded 2-core machine take long, never forever.
jest.setTimeout(120_000);

describe('gadget in the Finesse desktop across a side A → B failover', () => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  beforeAll(async () => {
    const gadgetDir = (await buildGadget(mkdtempSync(join(tmpdir(), 'gadget-')))).outDir;
    stack = await startStack({ mode: 'app', finesse: { gadgetDir, twoSides: true } });
    ({ browser, context } = await launchChromium());
  });
  afterAll(async () => {
    await browser?.close();
    await stack.stop();
  });

  const card = (type: string, id: number) => `${stack.emulator.url}/crm/${type}/details/${id}/`;

  it('moves with the desktop, pops the next call and not the one popped before, and dials through B', async () => {
    const f = stack.finesse!;
    const page = await context.newPage();
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(`${new Date().toISOString()} ${m.text()}`));
    await page.goto(f.desktopUrl('1001', { lang: 'en' }));
    const gadget = () => page.frameLocator('#gadget');
    await gadget().locator('.fb24-state[data-status=connected]').waitFor();
    await gadget().locator('.fb24-dial[data-status=online]').waitFor();

    const popup = context.waitForEvent('page');
    const first = f.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' }, answerAfterMs: 300, talkMs: 600_000 });
    const win = await popup;
    expect(win.url()).toBe(card('contact', 42));
    // The middleware has it: a gadget loaded on the other side asks there.
    await waitFor(async () => ((await stack.connector.store.getKv<Array<{ id: string }>>('popped.1001')) ?? []).some((p) => p.id === first), 20_000, 'the pop told to the middleware');

    f.failover(3_600_000);
    await page.locator('#log', { hasText: 'finesse side A out of service' }).waitFor();
    f.setSide('B', true);
    await page.waitForURL(`${f.urlB}/desktop**`);
    await page.locator('#log', { hasText: 'notifications connected (side B)' }).waitFor();
    await gadget().locator('.fb24-state[data-status=connected]').waitFor();
    await gadget().locator('.fb24-dial[data-status=online]').waitFor();
    // Reloaded mid-call on B: the live call is picked up (listed for its log) but not popped again.
    const next = context.waitForEvent('page');
    f.ring('1021', '79001112233', { answerAfterMs: null, ringMs: 600_000 });
    const second = await Promise.race([next, win.waitForURL(card('lead', 310)).then(() => win)]).catch(async (err: Error) => {
      throw new Error(
        `${err.message}\nDESKTOP LOG: ${(await page.locator('#log').textContent())?.slice(0, 3000)}\nGADGET: ${await gadget().locator('body').textContent()}\nPAGES: ${context
          .pages()
          .map((p) => p.url())
          .join(' ')}\nCONSOLE: ${consoleLines.join('\n')}`,
      );
    });
    expect(second.url()).toBe(card('lead', 310));
    const popped = await gadget().locator('.fb24-calls li').allTextContents();
    expect(popped.filter((t) => t.includes('CONTACT:42') || t.includes('Sergey'))).toEqual([]);
    f.endAll();

    f.outbound = { ...f.outbound, answerAfterMs: 60_000 };
    await stack.emulator.clickToCall(5, '+7 912 345 67 89', { type: 'CONTACT', id: 42 });
    await gadget().locator('.fb24-dial[data-status=dialled]').waitFor();
    expect(f.makeCalls.map((c) => [c.agent, c.toAddress, c.side])).toEqual([['1001', '89123456789', 'B']]);
    expect((await (await fetch(`${stack.url}/readyz`, { headers: { authorization: `Bearer ${stack.env.UCCX_LOOKUP_TOKEN}` } })).json()).checks.clickToDial.finesse).toMatchObject({ using: f.urlB });
    f.endAll();
  });
});
