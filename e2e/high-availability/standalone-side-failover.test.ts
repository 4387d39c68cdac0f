import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/lab/browser';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { buildGadget } from '../../gadget/build';

/**
 * Finesse side A/B (a UCCX HA pair) under the standalone page, in real Chromium against two lab sides that share
 * Prosody through a relay each: the page follows the side in service, loses no pop and doubles none, and
 * click-to-dial goes through the side in service.
 */
// A hang guard, not a timing goal: Chromium tests on a loaded 2-core machine take long, never forever.
jest.setTimeout(120_000);

describe.each(['websocket', 'bosh'] as const)('standalone gadget across a Finesse failover over %s', (transport) => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  beforeAll(async () => {
    const gadgetDir = (await buildGadget(mkdtempSync(join(tmpdir(), 'gadget-')))).outDir;
    stack = await startStack({ mode: 'app', finesse: { gadgetDir, xmpp: 'required', twoSides: true } });
    ({ browser, context } = await launchChromium());
    page = await context.newPage();
    await page.goto(stack.finesse!.standaloneUrl('1001', transport, { lang: 'en' }));
    await page.locator('.fb24-state[data-status=connected]').waitFor({ timeout: 20_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await stack.stop();
  });

  const card = (type: string, id: number) => `${stack.emulator.url}/crm/${type}/details/${id}/`;

  it('a call ringing while neither side is in service pops once side B is, once; later calls and clicks go through B', async () => {
    const finesse = stack.finesse!;
    await finesse.xmpp!.publisher.online();
    const first = context.waitForEvent('page');
    finesse.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' }, answerAfterMs: null, ringMs: 60_000 });
    const win = await first;
    expect(win.url()).toBe(card('contact', 42));
    finesse.endAll();

    finesse.failover(3_600_000); // A out of service now; B comes in when the test says so
    await page.locator('.fb24-state[data-status=reconnecting]').waitFor({ timeout: 20_000 });
    // Rings in the gap: its notifications reach nobody (no side serves them).
    finesse.ring('1021', '79001112233', { answerAfterMs: null, ringMs: 60_000 });
    finesse.setSide('B', true);
    await page.locator('.fb24-state[data-status=connected]').waitFor({ timeout: 20_000 });
    // Read from side B after the move: the call in the gap pops.
    await win.waitForURL(card('lead', 310));
    finesse.endAll();

    // Events through side B's notification service; a later call proves the earlier one did not pop again.
    finesse.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' } });
    await win.waitForURL(card('contact', 42));
    expect(context.pages()).toHaveLength(2);
    finesse.endAll();

    await page.locator('.fb24-dial[data-status=online]').waitFor({ timeout: 20_000 });
    finesse.outbound = { ...finesse.outbound, answerAfterMs: 60_000 };
    await stack.emulator.clickToCall(5, '+7 912 345 67 89', { type: 'CONTACT', id: 42 });
    await page.locator('.fb24-dial[data-status=dialled]').waitFor({ timeout: 20_000 });
    expect(finesse.makeCalls.map((c) => [c.agent, c.toAddress, c.side])).toEqual([['1001', '89123456789', 'B']]);
    finesse.endAll();
  });
});
