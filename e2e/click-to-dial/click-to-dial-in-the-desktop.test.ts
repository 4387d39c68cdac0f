import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/lab/browser';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { waitFor } from '../../testing/wait';
import { buildGadget } from '../../gadget/build';
import { parseConfig } from '../../middleware/config';
import { Connector } from '../../middleware/connector';

/**
 * The talk time Bitrix24 got, against the emulator's scripted talk: the gadget measures it between two notifications,
 * and on a loaded machine either may come a little late — a second either way, never a call cut short or doubled.
 */
const talked = (duration: number, scripted: number) => Math.abs(duration - scripted) <= 1;

/**
 * End to end in Chromium: a click on a number in the Bitrix24 emulator → our event handler → the agent's gadget in
 * the (lab) Finesse desktop → MAKE_CALL with the agent's own credentials → the dialog's events back to the gadget
 * → the call finished in Bitrix24 with its duration and status; inbound calls logged the same way.
 */
// A hang guard, not a timing goal: Chromium tests on a loaded 2-core machine take long, never forever.
jest.setTimeout(120_000);

describe('click-to-dial and call logging (gadget in Chromium)', () => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  beforeAll(async () => {
    const gadgetDir = (await buildGadget(mkdtempSync(join(tmpdir(), 'gadget-')))).outDir;
    stack = await startStack({ mode: 'app', finesse: { gadgetDir } });
    ({ browser, context } = await launchChromium());
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });
  beforeEach(() => {
    const f = stack.finesse!;
    f.outbound = { answerAfterMs: 300, talkMs: 2000, ringMs: 1000, busy: new Set(), noAnswer: new Set() };
    f.states.clear();
    f.makeCalls.length = 0;
    stack.emulator.calls.length = 0;
    stack.emulator.notifications.length = 0;
  });
  afterEach(async () => {
    for (const p of context.pages()) await p.close();
    stack.finesse!.endAll();
  });

  async function desktop(agent = '1001'): Promise<Page> {
    const page = await context.newPage();
    await page.goto(stack.finesse!.desktopUrl(agent, { lang: 'en' }));
    await page.frameLocator('#gadget').locator('.fb24-dial[data-status=online]').waitFor();
    return page;
  }

  /** The user opens the contact in Bitrix24 and clicks its number. */
  async function clickNumber(user: number, type: string, id: number): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${stack.emulator.url}/crm/${type}/details/${id}/?user=${user}`);
    await page.locator('form.call button').first().click();
    await page.waitForURL(/\/lab\/calls/);
    return page;
  }

  it('a click dials from the agent (switching him from READY to NOT_READY) and the call is finished with its talk time', async () => {
    await desktop('1001');
    stack.finesse!.states.set('1001', 'READY');
    const log = await clickNumber(5, 'contact', 42);
    await waitFor(() => stack.finesse!.makeCalls.length, 20000, 'MAKE_CALL');
    expect(stack.finesse!.makeCalls).toEqual([{ agent: '1001', toAddress: '89123456789', at: expect.any(Number), side: 'A' }]);
    expect(stack.finesse!.states.get('1001')).toBe('NOT_READY');
    const call = stack.emulator.calls[0]!;
    expect(call).toMatchObject({ origin: 'click', USER_ID: 5, CRM_ENTITY_TYPE: 'CONTACT', CRM_ENTITY_ID: 42 });
    await waitFor(() => call.finished, 20000, 'the call to be finished');
    expect(call.finished!.STATUS_CODE).toBe('200');
    expect(talked(call.finished!.DURATION, 2)).toBe(true);
    expect(stack.emulator.calls).toHaveLength(1); // Bitrix24's own CALL_ID was reused, nothing registered again
    await log.reload();
    expect(await log.locator(`tr[data-call="${call.CALL_ID}"]`).getAttribute('data-status')).toBe('200');
  });

  it('a busy number is logged once as 486; several tabs of the agent dial once', async () => {
    await desktop('1001');
    await desktop('1001');
    stack.finesse!.outbound.busy.add('84951112233');
    await clickNumber(5, 'contact', 43);
    const call = await waitFor(() => stack.emulator.calls[0]?.finished && stack.emulator.calls[0], 20000, 'the busy call');
    expect(call.finished!.STATUS_CODE).toBe('486');
    await stack.connector.settled();
    expect(stack.finesse!.makeCalls).toHaveLength(1);
    expect(stack.emulator.calls).toHaveLength(1);
  });

  it('a dial that fails before it leaves the switch (AGENT_INSIDE → FAILED) is finished in Bitrix24 once, as a bad number', async () => {
    await desktop('1001');
    stack.finesse!.outbound.unreachable = new Set(['84951112233']);
    await clickNumber(5, 'contact', 43);
    const call = await waitFor(() => stack.emulator.calls[0]?.finished && stack.emulator.calls[0], 20000, 'the failed call');
    expect(call.finished).toMatchObject({ STATUS_CODE: '404', DURATION: 0 });
    await stack.connector.settled();
    expect(stack.emulator.calls).toHaveLength(1); // Bitrix24's own call, finished; nothing registered besides
    expect(stack.finesse!.makeCalls).toHaveLength(1);
  });

  it('a dial Finesse accepts (202) but CTI then refuses (asynchronous <apiErrors> with our requestId) is finished in Bitrix24 once', async () => {
    const page = await desktop('1001');
    stack.finesse!.outbound.ctiError = new Set(['84951112233']);
    await clickNumber(5, 'contact', 43);
    const call = await waitFor(() => stack.emulator.calls[0]?.finished && stack.emulator.calls[0], 20000, 'the refused call');
    expect(call.finished).toMatchObject({ STATUS_CODE: '480', DURATION: 0 });
    expect(await page.frameLocator('#gadget').locator('.fb24-dial[data-status=failed]').textContent()).toBe('Call to 84951112233 not placed: CF_RESOURCE_OUT_OF_SERVICE');
    await stack.connector.settled();
    expect(stack.emulator.calls).toHaveLength(1);
  });

  it('a click while the agent is on a call is refused visibly (busy), and the call he is on is untouched', async () => {
    const page = await desktop('1001');
    stack.finesse!.ring('1021', '79001112233', { answerAfterMs: 100, talkMs: 60_000 });
    await waitFor(() => stack.finesse!.states.get('1001') === 'TALKING', 20000, 'the agent talking');
    const click = await stack.emulator.clickToCall(5, '+7 912 345 67 89', { type: 'CONTACT', id: 42 });
    await waitFor(() => click.finished, 20000, 'the refused click');
    expect(click.finished).toMatchObject({ STATUS_CODE: '486' });
    expect(click.finished!.FAILED_REASON).toBe('Звонок на +7 912 345 67 89 не состоялся: агент сейчас не может набирать номер (разговаривает)');
    expect(stack.finesse!.makeCalls).toHaveLength(0);
    expect(stack.finesse!.liveDialogs('1001')).toHaveLength(1);
    const said = page.frameLocator('#gadget').locator('.fb24-dial[data-status=failed]');
    expect(await said.textContent()).toBe('Call to 89123456789 not placed: you are TALKING');
  });

  it('with no gadget open the click fails visibly in Bitrix24', async () => {
    const log = await clickNumber(6, 'contact', 45); // Maria (1022) has no desktop open
    await waitFor(() => stack.emulator.calls[0]?.finished, 20000, 'the failed call');
    await log.reload();
    expect(await log.locator('li.note').first().textContent()).toMatch(/не открыт для внутреннего номера 1022/);
    expect(stack.finesse!.makeCalls).toHaveLength(0);
  });

  it('logs inbound calls under the agent: answered (200 with talk time) and missed (304), once each', async () => {
    await desktop('1001');
    const f = stack.finesse!;
    // Two calls at once: the second rings in the moment the gadget pops the first (when Chromium drops messages).
    f.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' }, answerAfterMs: 300, talkMs: 2000 });
    f.ring('1021', '79001112233', { answerAfterMs: null, ringMs: 1500 });
    await waitFor(() => stack.emulator.calls.length === 2 && stack.emulator.calls.every((c) => c.finished), 20000, 'two logged calls');
    const byPhone = Object.fromEntries(stack.emulator.calls.map((c) => [c.PHONE_NUMBER, c]));
    expect(byPhone['+79123456789']).toMatchObject({ origin: 'rest', TYPE: 2, USER_ID: 5, CRM_ENTITY_TYPE: 'CONTACT', CRM_ENTITY_ID: 42, finished: { STATUS_CODE: '200' } });
    expect(talked(byPhone['+79123456789']!.finished!.DURATION, 2)).toBe(true);
    expect(byPhone['+79001112233']).toMatchObject({ origin: 'rest', TYPE: 2, USER_ID: 5, CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: 310, finished: { STATUS_CODE: '304', DURATION: 0 } });
  });

  it('an agent reloading the desktop mid-call still gets the call logged once, with its whole talk time', async () => {
    const page = await desktop('1001');
    const f = stack.finesse!;
    f.ring('1021', '89123456789', { vars: { callVariable2: 'CONTACT:42' }, answerAfterMs: 200, talkMs: 3000 });
    await waitFor(() => stack.emulator.calls[0], 20000, 'the call registered');
    const [d] = f.liveDialogs('1001');
    // The gadget has reported the answer before the reload.
    await waitFor(async () => (await stack.connector.store.getKv<{ answeredAt: number | null }>(`call.record.1001.${d!.id}`))?.answeredAt, 20000, 'the answer reported');
    await page.reload();
    await page.frameLocator('#gadget').locator('.fb24-dial[data-status=online]').waitFor();
    const call = await waitFor(() => stack.emulator.calls[0]?.finished && stack.emulator.calls[0], 20000, 'the call finished');
    expect(call.finished!.STATUS_CODE).toBe('200');
    expect(talked(call.finished!.DURATION, 3)).toBe(true); // the whole talk time, though the page saw only its end
    expect(stack.emulator.calls).toHaveLength(1);
  });

  it('the agent hangs up in the desktop: the call is finished with the time it really lasted', async () => {
    const page = await desktop('1001');
    stack.finesse!.outbound.talkMs = 60_000;
    await clickNumber(5, 'contact', 42);
    const hangUp = page.locator('#calls button[data-action=DROP]');
    await page.locator('#calls div', { hasText: 'ACTIVE' }).waitFor();
    const answered = Date.now();
    await page.waitForTimeout(1200);
    await hangUp.click();
    const talked = (Date.now() - answered) / 1000;
    const call = await waitFor(() => stack.emulator.calls[0]?.finished && stack.emulator.calls[0], 20000, 'the call finished');
    expect(call.finished!.STATUS_CODE).toBe('200');
    // The talk time as the test saw it, give or take the notification's way to the gadget.
    expect(call.finished!.DURATION).toBeGreaterThanOrEqual(Math.floor(talked) - 1);
    expect(call.finished!.DURATION).toBeLessThanOrEqual(Math.ceil(talked) + 1);
    expect(await page.locator('#calls div').count()).toBe(0);
  });

  it("when the middleware restarts, the gadget's session comes back by itself and the next click dials", async () => {
    const page = await desktop('1001');
    const dial = page.frameLocator('#gadget').locator('.fb24-dial');
    const port = Number(new URL(stack.url).port);
    await stack.connector.stop(100);
    await dial.and(page.frameLocator('#gadget').locator('[data-status=offline]')).waitFor();
    const again = new Connector(parseConfig(stack.env));
    await again.listen(port, '127.0.0.1');
    try {
      await dial.and(page.frameLocator('#gadget').locator('[data-status=online]')).waitFor({ timeout: 15_000 });
      await stack.emulator.clickToCall(5, '+7 912 345 67 89', { type: 'CONTACT', id: 42 });
      await waitFor(() => stack.finesse!.makeCalls.length, 20000, 'MAKE_CALL after the restart');
    } finally {
      await again.stop(100);
    }
  });
});
