import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/lab/browser';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { buildGadget } from '../../gadget/build';

/** The standalone page with its own XMPP session to the (Prosody) notification service, in real Chromium. */
// A hang guard, not a timing goal: Chromium tests on a loaded 2-core machine take long, never forever.
jest.setTimeout(120_000);

describe.each(['websocket', 'bosh'] as const)('standalone gadget over %s (Prosody, Chromium)', (transport) => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  beforeAll(async () => {
    const gadgetDir = (await buildGadget(mkdtempSync(join(tmpdir(), 'gadget-')))).outDir;
    stack = await startStack({ mode: 'app', finesse: { gadgetDir, xmpp: 'required' } });
    ({ browser, context } = await launchChromium());
    page = await context.newPage();
    await page.goto(stack.finesse!.standaloneUrl('1001', transport, { lang: 'en' }));
    await page
      .locator('.fb24-state[data-status=connected]')
      .waitFor({ timeout: 10_000 })
      .catch(async (err: Error) => {
        throw new Error(`${err.message}; the gadget says: ${await page.locator('.fb24-state').textContent()}`);
      });
  });
  afterAll(async () => {
    await browser?.close();
    await stack.stop();
  });
  afterEach(() => stack.finesse!.endAll());

  const card = (type: string, id: number) => `${stack.emulator.url}/crm/${type}/details/${id}/`;

  it('pops the card of a ringing call', async () => {
    const popup = context.waitForEvent('page');
    stack.finesse!.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' } });
    const win = await popup;
    expect(win.url()).toBe(card('contact', 42));
    await win.close();
  });

  it("opens its click-to-dial session with the agent's own login, and a click in Bitrix24 dials from it", async () => {
    await page.locator('.fb24-dial[data-status=online]').waitFor();
    stack.finesse!.outbound = { ...stack.finesse!.outbound, answerAfterMs: 60_000 };
    await stack.emulator.clickToCall(5, '+7 912 345 67 89', { type: 'CONTACT', id: 42 });
    await page.locator('.fb24-dial[data-status=dialled]').waitFor();
    expect(stack.finesse!.makeCalls.map((c) => [c.agent, c.toAddress])).toEqual([['1001', '89123456789']]);
    stack.finesse!.makeCalls.length = 0;
  });

  it('reconnects after the server comes back, and a call ringing then pops once', async () => {
    const xmpp = stack.finesse!.xmpp!;
    await xmpp.server.stop();
    await page.locator('.fb24-state[data-status=reconnecting]').waitFor({ timeout: 20_000 });
    await xmpp.server.start();
    // Reconnection is timed by the gadget's own backoff: its promise (back within 5 s) belongs in `npm run bench`.
    await page.locator('.fb24-state[data-status=connected]').waitFor({ timeout: 20_000 });
    await xmpp.publisher.online();
    const popup = context.waitForEvent('page');
    stack.finesse!.ring('1021', '79001112233');
    const win = await popup;
    expect(win.url()).toBe(card('lead', 310));
    // A later call pops into the same window: once it has, anything the first could have caused has happened.
    stack.finesse!.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' } });
    await win.waitForURL(card('contact', 42));
    expect(context.pages()).toHaveLength(2);
    await expect(page.locator('.fb24-calls li').count()).resolves.toBe(3);
  });
});
