import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { waitFor } from '../../testing/wait';
import { launchChromium } from '../../scripts/lab/browser';
import { dialogUpdate, ringing } from '../../scripts/lab/finesse/finesse-xml';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { gadgetInstances } from '../../scripts/lab/finesse/shipped-layout';
import { buildGadget } from '../../gadget/build';

/** Polls until `read()` gives `expected` (the page updates asynchronously), then asserts it. */
async function eventually<T>(read: () => Promise<T>, expected: T, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  let value = await read();
  while (value !== expected && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  expect(value).toBe(expected);
}

/** The gadget inside the (lab) Finesse desktop, in real Chromium: hub relay → pop. */
// A hang guard, not a timing goal: Chromium tests on a loaded 2-core machine take long, never forever.
jest.setTimeout(120_000);

describe('gadget in the Finesse desktop (hub relay, Chromium)', () => {
  let stack: Stack;
  let gadgetDir: string;
  beforeAll(async () => {
    gadgetDir = (await buildGadget(mkdtempSync(join(tmpdir(), 'gadget-')))).outDir;
    // What pops is tested here, not how fast Bitrix24 answers: on a saturated machine a lookup past the 1.5-s deadline
    // would fail open (to the queue, a new-caller pop) — a product decision tested in e2e/lookup/one-lead-per-caller.test.ts.
    stack = await startStack({ mode: 'app', finesse: { gadgetDir }, env: { LOOKUP_DEADLINE_MS: '20000' } });
  });
  afterAll(() => stack.stop());

  let browser: Browser;
  let context: BrowserContext;
  afterEach(async () => {
    await browser?.close();
    stack.finesse!.endAll(); // the next test starts with no call in progress
  });

  async function openDesktop(agent = '1001', params: Record<string, string> = {}, popupBlocking = false): Promise<Page> {
    ({ browser, context } = await launchChromium({ popupBlocking }));
    const page = await context.newPage();
    await page.goto(stack.finesse!.desktopUrl(agent, params));
    await page.frameLocator('#gadget').locator('.fb24-state[data-status=connected]').waitFor();
    return page;
  }

  const card = (type: string, id: number) => `${stack.emulator.url}/crm/${type}/details/${id}/`;

  it('opens the CRM record the UCCX script put in callVariable2 when the phone rings, and names the customer', async () => {
    const page = await openDesktop();
    const popup = context.waitForEvent('page');
    stack.finesse!.ring('1021', '89123456789', { vars: { callVariable1: '89123456789', callVariable2: 'CONTACT:42' } });
    expect((await popup).url()).toBe(card('contact', 42));
    // The agent sees who it is, not "CONTACT:42".
    await page.frameLocator('#gadget').locator('.fb24-call a.fb24-open', { hasText: 'Sergey Klientov (CONTACT:42)' }).waitFor();
  });

  it('the shipped layout (layouts/finesse-layout.xml), loaded as Finesse loads it: one gadget, one pop, one call in the CRM', async () => {
    const page = await openDesktop();
    expect(gadgetInstances('Agent')).toHaveLength(1);
    expect(await page.locator('iframe.gadget').count()).toBe(1);
    const pops: string[] = [];
    context.on('page', (p) => pops.push(p.url()));
    const before = stack.emulator.calls.length;
    stack.finesse!.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' }, answerAfterMs: 200, talkMs: 1500 });
    // The call's finish reaches Bitrix24 well after any pop of the ring: by then a second instance would have popped.
    await waitFor(() => stack.emulator.calls.slice(before).find((c) => c.finished), 60_000, 'the call logged and finished');
    expect(pops).toEqual([card('contact', 42)]);
    expect(stack.emulator.calls.slice(before)).toHaveLength(1);
  });

  it('without the record in the call variables, asks the middleware by the caller number', async () => {
    await openDesktop();
    const popup = context.waitForEvent('page');
    stack.finesse!.ring('1021', '79001112233');
    expect((await popup).url()).toBe(card('lead', 310));
  });

  it('offers a picker, not a guess, when several contacts share the number; a click opens the chosen one', async () => {
    const page = await openDesktop('1001', { lang: 'en' });
    stack.finesse!.ring('1021', '89152223344');
    const choices = page.frameLocator('#gadget').locator('a.fb24-choice');
    await choices.first().waitFor();
    expect(await choices.allTextContents()).toEqual(['Petr Semyonov (CONTACT:47)', 'Olga Semyonova (CONTACT:46)']);
    expect(context.pages()).toHaveLength(1);
    const popup = context.waitForEvent('page');
    await choices.nth(1).click();
    expect((await popup).url()).toBe(card('contact', 46));
  });

  it('reuses one named window for the next call (no tab storm) and lists the shift calls', async () => {
    const page = await openDesktop();
    const first = context.waitForEvent('page');
    stack.finesse!.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' } });
    const win = await first;
    await win.waitForLoadState();
    stack.finesse!.ring('1021', '79001112233', { vars: { callVariable2: 'LEAD:310' } });
    await win.waitForURL(card('lead', 310));
    expect(context.pages()).toHaveLength(2);
    await eventually(() => page.frameLocator('#gadget').locator('.fb24-calls li').count(), 2);
  });

  it('a second call ringing in the moment the first pops is not lost: both are listed', async () => {
    const page = await openDesktop();
    stack.finesse!.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' }, answerAfterMs: 60_000 });
    stack.finesse!.ring('1021', '79001112233', { vars: { callVariable2: 'LEAD:310' }, answerAfterMs: 60_000 });
    await eventually(() => page.frameLocator('#gadget').locator('.fb24-calls li').count(), 2);
  });

  it('with the pop-up blocker on, shows an "Open in Bitrix24" button that opens the card', async () => {
    const page = await openDesktop('1001', { lang: 'en' }, true);
    // No user activation may be left from opening the page: wait until the browser says so.
    await page
      .frameLocator('#gadget')
      .locator('body')
      .evaluate(
        () =>
          new Promise<void>((resolve) => {
            const check = () => (navigator.userActivation.isActive ? setTimeout(check, 100) : resolve());
            check();
          }),
      );
    stack.finesse!.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' } });
    const button = page.frameLocator('#gadget').locator('a.fb24-open-big');
    await button.waitFor();
    expect(await button.textContent()).toBe('Open in Bitrix24');
    expect(context.pages()).toHaveLength(1); // the blocker stopped the automatic pop
    const popup = context.waitForEvent('page');
    await button.click();
    expect((await popup).url()).toBe(card('contact', 42));
  });

  it('skips malformed notifications and duplicate deliveries, and still pops once', async () => {
    const page = await openDesktop();
    const f = stack.finesse!;
    f.publish('1001', '<Update><data><dialogs><Dialog>');
    f.publish('1001', 'not xml at all');
    const dup = dialogUpdate('1001', 'POST', { ...ringing('1021', '99000001', '89123456789'), vars: { callVariable2: 'CONTACT:42' } });
    const popup = context.waitForEvent('page');
    f.publish('1001', dup);
    f.publish('1001', dup);
    const win = await popup;
    expect(win.url()).toBe(card('contact', 42));
    // Notifications reach the gadget in order: once a later call has popped, the duplicate has been handled.
    f.publish('1001', dialogUpdate('1001', 'POST', { ...ringing('1021', '99000002', '79001112233'), vars: { callVariable2: 'LEAD:310' } }));
    await win.waitForURL(card('lead', 310));
    expect(context.pages()).toHaveLength(2);
    await eventually(() => page.frameLocator('#gadget').locator('.fb24-calls li').count(), 2);
  });

  it('after the desktop reconnects, reads live dialogs again and pops the call it missed, once', async () => {
    const page = await openDesktop();
    const f = stack.finesse!;
    f.setLink('1001', false);
    const state = () => page.frameLocator('#gadget').locator('.fb24-state').getAttribute('data-status');
    await eventually(state, 'reconnecting');
    f.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' }, answerAfterMs: 60_000 }); // lost: the link is down
    expect(f.published.some((p) => p.content.includes('<event>POST</event>'))).toBe(true); // rung, never relayed
    expect(context.pages()).toHaveLength(1);
    const popup = context.waitForEvent('page');
    f.setLink('1001', true);
    expect((await popup).url()).toBe(card('contact', 42));
    await eventually(state, 'connected');
  });

  it('with trigger=ACTIVE pops when the agent answers, not while it rings', async () => {
    const page = await openDesktop('1001', { trigger: 'ACTIVE' });
    const f = stack.finesse!;
    f.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' }, answerAfterMs: null, ringMs: 60_000 });
    const [d] = f.liveDialogs('1001');
    // The gadget has seen the ringing call once it reported it to the middleware; no pop yet.
    await waitFor(() => stack.connector.store.getKv(`call.record.1001.${d!.id}`), 20000, 'the gadget to see the call ring');
    expect(context.pages()).toHaveLength(1);
    const popup = context.waitForEvent('page');
    await page.locator('#calls button[data-action=ANSWER]').click();
    expect((await popup).url()).toBe(card('contact', 42));
  });

  it('an IVR-prerouted call (PREROUTE_ACD_IN) pops once, through the finesse.js-shaped relay', async () => {
    const page = await openDesktop();
    const popup = context.waitForEvent('page');
    stack.finesse!.ring('1021', '89123456789', { callType: 'PREROUTE_ACD_IN', vars: { callVariable2: 'CONTACT:42' }, answerAfterMs: 200 });
    const win = await popup;
    expect(win.url()).toBe(card('contact', 42));
    // The answer that follows does not pop again: a later call pops into the same window, no third page.
    stack.finesse!.ring('1021', '79001112233', { vars: { callVariable2: 'LEAD:310' }, answerAfterMs: 60_000 });
    await win.waitForURL(card('lead', 310));
    expect(context.pages()).toHaveLength(2);
    await eventually(() => page.frameLocator('#gadget').locator('.fb24-calls li').count(), 2);
  });

  it("a withheld caller pops nothing and says so; the agent's own extension is never looked up", async () => {
    const page = await openDesktop('1001', { lang: 'en' });
    const before = stack.emulator.leadCount();
    stack.finesse!.ring('1021', '', { withheld: true, answerAfterMs: 60_000 });
    const entry = page.frameLocator('#gadget').locator('.fb24-calls li').first();
    await entry.filter({ hasText: 'No caller number' }).waitFor();
    expect(context.pages()).toHaveLength(1);
    expect(stack.emulator.leadCount()).toBe(before);
  });

  it('an outbound pop opens the dialled customer once the call leaves the switch (AGENT_INSIDE, then OUT)', async () => {
    await openDesktop('1001', { outbound: 'true' });
    const f = stack.finesse!;
    f.outbound = { ...f.outbound, answerAfterMs: 60_000 };
    const leads = stack.emulator.leadCount();
    const popup = context.waitForEvent('page');
    f.dialOut(f.agents[0]!, '89123456789');
    expect((await popup).url()).toBe(card('contact', 42));
    expect(stack.emulator.leadCount()).toBe(leads); // no lead for the agent's own extension
  });

  it('no pop for a consult leg; the customer pops for the agent a call is transferred to', async () => {
    await openDesktop('1002'); // Maria, extension 1022, receives the consult
    const f = stack.finesse!;
    f.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' }, answerAfterMs: 0, talkMs: 60_000 });
    await waitFor(() => f.liveDialogs('1001').find((d) => d.state === 'ACTIVE'), 20000, 'Ivan on the call');
    const popup = context.waitForEvent('page');
    f.consult('1021', '1022', 'transfer');
    // Had the consult leg popped, its pop (a lookup of Ivan's extension) would be the first page to open.
    const win = await popup;
    expect(win.url()).toBe(card('contact', 42));
    expect(context.pages()).toHaveLength(2);
  });

  it('a conference: the customer pops for the agent who joins it, once; the consult leg before it never', async () => {
    await openDesktop('1002'); // Maria, extension 1022, is consulted, then joins the conference
    const f = stack.finesse!;
    f.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' }, answerAfterMs: 0, talkMs: 60_000 });
    await waitFor(() => f.liveDialogs('1001').find((d) => d.state === 'ACTIVE'), 20000, 'Ivan on the call');
    const popup = context.waitForEvent('page');
    f.consult('1021', '1022', 'conference');
    // Had the consult leg popped, its pop (a lookup of Ivan's extension) would be the first page to open.
    const win = await popup;
    expect(win.url()).toBe(card('contact', 42));
    await waitFor(() => f.liveDialogs('1002').find((d) => d.callType === 'CONFERENCE'), 20000, 'the conference');
    // The next call that rings for Maria pops into the same window: one pop window, the desktop and nothing else.
    f.ring('1022', '79001112233', { vars: { callVariable2: 'LEAD:310' }, answerAfterMs: 60_000 });
    await win.waitForURL(card('lead', 310));
    expect(context.pages()).toHaveLength(2);
  });
});
