import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { waitFor } from '../../testing/wait';
import { launchChromium } from '../../scripts/lab/browser';
import { ContactCenterFlows, DIALER_PORT, ROUTE_POINT } from '../../scripts/lab/finesse/contact-center-flows';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { buildGadget } from '../../gadget/build';
import { CALL_TYPE_CLASSES, callTypeName } from '../../gadget/src/call-class';

/**
 * The whole contact center in the lab desktop (Chromium, hub relay), Ivan (1001, extension 1021, Bitrix24 user 5)
 * and Maria (1002, extension 1022, user 6) side by side: each flow of Cisco's shapes (scripts/lab/finesse/
 * contact-center-flows.ts) pops only a customer's call, on the desktop of the agent talking with the customer, and
 * leaves Bitrix24 with exactly the calls a supervisor would expect — customer numbers only, one per agent leg.
 */
// A hang guard, not a timing goal: Chromium tests on a loaded 2-core machine take long, never forever.
jest.setTimeout(180_000);

describe('the whole contact center in the lab desktop', () => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  const desks: Record<string, Page> = {};
  beforeAll(async () => {
    const gadgetDir = (await buildGadget(mkdtempSync(join(tmpdir(), 'gadget-')))).outDir;
    stack = await startStack({ mode: 'app', finesse: { gadgetDir } });
    ({ browser, context } = await launchChromium());
    for (const agent of ['1001', '1002']) {
      const page = await context.newPage();
      await page.goto(stack.finesse!.desktopUrl(agent));
      await page.frameLocator('#gadget').locator('.fb24-state[data-status=connected]').waitFor();
      await page.frameLocator('#gadget').locator('.fb24-dial[data-status=online]').waitFor(); // its session is open
      desks[agent] = page;
    }
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** The dialogs a desktop popped this shift, as its gadget lists them. */
  const popped = (agent: string) =>
    desks[agent]!.frameLocator('#gadget')
      .locator('.fb24-calls li')
      .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-dialog')));
  const waitPopped = (agent: string, id: string) => desks[agent]!.frameLocator('#gadget').locator(`.fb24-calls li[data-dialog="${id}"]`).waitFor();
  const answeredCall = async (customer: string) => {
    const f = stack.finesse!;
    const id = f.ring('1021', customer, { vars: { callVariable1: customer, callVariable2: 'CONTACT:42' }, answerAfterMs: 0, talkMs: 120_000 });
    await waitFor(() => f.liveDialogs('1001').find((d) => d.id === id && d.state === 'ACTIVE'), 20000, "Ivan's call answered");
    await waitPopped('1001', id);
    await answerReported('1001', id);
    return id;
  };
  /** The agent's gadget has reported the answer (the middleware holds it): what follows happens to an answered call. */
  const answerReported = (agent: string, id: string) =>
    waitFor(async () => (await stack.connector.store.getKv<{ answeredAt: number | null }>(`call.record.${agent}.${id}`))?.answeredAt, 20000, `${agent}'s answer of ${id} reported`);
  const hangUp = (id: string) => {
    const d = stack.finesse!.liveDialogs('1001').find((x) => x.id === id);
    if (d) stack.finesse!.drop('1021', d);
  };
  const rest = () => stack.emulator.calls.filter((c) => c.origin === 'rest');
  const shape = (c: (typeof stack.emulator.calls)[number]) => ({ user: c.USER_ID, phone: c.PHONE_NUMBER, type: c.TYPE, status: c.finished?.STATUS_CODE ?? null });

  it('each flow pops and logs only the customer, for the agent who talks with the customer', async () => {
    const f = stack.finesse!;
    const flows = new ContactCenterFlows(f);
    const expectPops: Record<string, string[]> = { '1001': [], '1002': [] };

    // 1. Blind transfer through the route point: Ivan's leg ends; Maria gets the customer (OFFERED), and pops.
    expectPops['1001']!.push(await answeredCall('89123456701'));
    const offered = flows.blindTransfer('1021', '1022', 1500);
    await waitPopped('1002', offered);
    expectPops['1002']!.push(offered);

    // 2. Maria barges into Ivan's next call: nothing pops for her, nothing is logged for her.
    const barged = await answeredCall('89123456702');
    expectPops['1001']!.push(barged);
    flows.supervise('1022', '1021', 'barge', 60_000);
    await waitFor(() => stack.finesse!.liveDialogs('1002').find((d) => d.callType === 'SUPERVISOR_BARGE_IN'), 20000, 'the barge-in');
    hangUp(barged);
    // 3. …and intercepts the one after: from then on it is her call with the customer.
    expectPops['1001']!.push(await answeredCall('89123456703'));
    const intercepted = flows.supervise('1022', '1021', 'intercept', 1500);
    await waitPopped('1002', intercepted);
    expectPops['1002']!.push(intercepted);

    // 4. Ivan asks Maria for help, and raises an emergency: calls between agents, never customers.
    flows.callSupervisor('1021', '1022', 'ASSIST', 500);
    flows.callSupervisor('1021', '1022', 'EMERGENCY', 500);

    // 5. A preview campaign at Ivan: the dialer port's reservation call never pops; the customer leg does.
    flows.previewCampaign('1021', '89123456705', { talkMs: 60_000 });
    const customerLeg = await waitFor(() => f.liveDialogs('1001').find((d) => d.callType === 'OUTBOUND_PREVIEW')?.id, 20000, 'the campaign customer leg');
    await waitPopped('1001', customerLeg);
    await answerReported('1001', customerLeg);
    hangUp(customerLeg);
    expectPops['1001']!.push(customerLeg);

    // 6. A chat offered to Ivan on his Media node: not a phone call.
    flows.chat('1021');

    // The last flow's evidence: one more customer call pops for Ivan after everything above.
    expectPops['1001']!.push(await answeredCall('89123456706'));
    f.endAll();

    for (const agent of ['1001', '1002']) expect((await popped(agent)).sort()).toEqual([...expectPops[agent]!].sort());

    // Bitrix24: one call per agent leg with a customer, under that agent, with the customer's number.
    await waitFor(() => rest().length === 7 && rest().every((c) => c.finished), 60000, 'every customer leg logged and finished');
    expect(
      rest()
        .map(shape)
        .sort((a, b) => a.phone.localeCompare(b.phone) || a.user - b.user),
    ).toEqual([
      { user: 5, phone: '+79123456701', type: 2, status: '200' }, // Ivan until the blind transfer
      { user: 6, phone: '+79123456701', type: 2, status: '200' }, // Maria after it
      { user: 5, phone: '+79123456702', type: 2, status: '200' }, // Ivan (the supervisor's barge-in is no call of hers)
      { user: 5, phone: '+79123456703', type: 2, status: '200' }, // Ivan until the intercept
      { user: 6, phone: '+79123456703', type: 2, status: '200' }, // Maria after it
      { user: 5, phone: '+79123456705', type: 1, status: '200' }, // the campaign's customer leg, outbound, without the dialer's prefix
      { user: 5, phone: '+79123456706', type: 2, status: '200' },
    ]);
    // Nothing anywhere under an extension, the route point, the dialer port or a chat's address.
    for (const n of ['1021', '1022', ROUTE_POINT, DIALER_PORT]) expect(stack.emulator.leadCount(n)).toBe(0);
    expect(stack.emulator.calls.map((c) => c.PHONE_NUMBER)).not.toEqual(expect.arrayContaining([expect.stringMatching(/^\+?(1021|1022|5000|3001)$|@/)]));
    // The emulator speaks Cisco's table: every call type it published is one the classification names.
    const published = new Set(f.published.map((p) => /<callType>([^<]*)<\/callType>/.exec(p.content)?.[1]).filter((t): t is string => t !== undefined && t !== ''));
    expect([...published].filter((t) => !(callTypeName(t) in CALL_TYPE_CLASSES))).toEqual([]);
    expect([...published].sort()).toEqual(expect.arrayContaining(['ASSIST', 'EMERGENCY', 'OFFERED', 'OUTBOUND_PREVIEW', 'RESERVATION', 'SUPERVISOR_BARGE_IN', 'SUPERVISOR_INTERCEPT']));
    // …and the middleware's own guard never had to step in: the gadget sent nothing of the sort.
    expect(await (await fetch(`${stack.url}/metrics`)).text()).not.toMatch(/^internal_numbers_refused_total\{/m);
  });
});
