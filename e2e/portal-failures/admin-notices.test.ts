import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RestError } from '../../scripts/lab/bitrix24-emulator/portal';
import { LAB_UCCX_TOKEN, startStack, type Stack } from '../../scripts/lab/lab-stack';
import { AgentClient } from '../../testing/agent-client';
import { waitFor } from '../../testing/wait';
import { uccxLookup } from '../../testing/lookup-client';
import { leadKey } from '../../middleware/lookup/unknown-caller';

/**
 * Refusals only a portal administrator can fix (conformance/bitrix24/docs/register-lead-creation-error.json; the
 * `access` failure class): the work goes on, and the administrator who installed the application is told — on the
 * application's page, in /readyz and /metrics, and by one Bitrix24 notification a day.
 */
describe('what only a portal administrator can fix', () => {
  let stack: Stack;
  const clients: AgentClient[] = [];
  const token = LAB_UCCX_TOKEN;
  beforeEach(async () => {
    stack = await startStack({ mode: 'app', finesse: { gadgetDir: mkdtempSync(join(tmpdir(), 'gd-')) }, env: { STATS_ALLOWED_USERS: '1', LOOKUP_CACHE_TTL_S: '0' } });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await stack.stop();
  });
  const agent = async () => {
    const c = new AgentClient(stack.url, '1001', 'lab');
    clients.push(c);
    expect((await c.open()).status).toBe(200);
    return c;
  };
  const notices = async () =>
    (
      (await (await fetch(`${stack.url}/readyz`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        checks: { adminNotices: { open: Array<{ kind: string; method: string; detail: string }> } };
      }
    ).checks.adminNotices.open;
  const gauge = async (kind: string) => Number(new RegExp(`^bitrix24_admin_notices\\{kind="${kind}"\\} (\\d)$`, 'm').exec(await (await fetch(`${stack.url}/metrics`)).text())?.[1]);
  const appPage = async (lang: 'ru' | 'en') =>
    (
      await fetch(`${stack.url}/bitrix/app?LANG=${lang}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(stack.emulator.frameForm(1)).toString(),
      })
    ).text();
  const outbound = (dialogId: string, number: string) => {
    const t0 = Date.now();
    return { dialogId, direction: 'outbound', number, startedAt: t0, answeredAt: t0 + 1000, endedAt: t0 + 20_000, failure: null };
  };
  const toAdmin = () => stack.emulator.notifications.filter((n) => n.userId === 1);

  it('lead creation disabled: the calls are logged, the administrator is told once a day, the page says it; allowed again, it clears', async () => {
    const a = await agent();
    stack.emulator.switches.leadCreation = 'disabled';
    for (const [dialog, number] of [
      ['9101', '89995550111'],
      ['9102', '89995550112'],
    ] as const) {
      expect((await a.post('/api/agent/calls', outbound(dialog, number))).status).toBe(202);
    }
    await waitFor(() => stack.emulator.calls.filter((c) => c.finished).length === 2 || null, 30_000, 'both calls logged');
    await stack.connector.settled();
    await waitFor(() => toAdmin().length === 1 || null, 30_000, 'the administrator told');
    expect(toAdmin()[0]!.message).toMatch(/^Коннектор Finesse ↔ Bitrix24: Битрикс24 не создаёт лиды .*Lead creation is disabled for local users/);
    expect(stack.emulator.leadCount('+79995550111')).toBe(0);
    expect(await notices()).toEqual([expect.objectContaining({ kind: 'lead_creation_disabled', detail: 'Lead creation is disabled for local users' })]);
    expect(await gauge('lead_creation_disabled')).toBe(1);
    expect(await appPage('en')).toMatch(/<div class="notice" data-notices><p>Bitrix24 does not create leads for outgoing calls to new numbers \(&#34;Lead creation is disabled for local users&#34;\)/);

    // The administrator allowed it: the next such call makes its lead, and the notice is gone.
    stack.emulator.switches.leadCreation = 'on';
    expect((await a.post('/api/agent/calls', outbound('9103', '89995550113'))).status).toBe(202);
    await waitFor(() => stack.emulator.leadCount('+79995550113') === 1 || null, 30_000, 'the lead made by Bitrix24');
    await waitFor(async () => (await notices()).length === 0 || null, 30_000, 'the notice cleared');
    expect(await gauge('lead_creation_disabled')).toBe(0);
    expect(await appPage('en')).not.toContain('data-notices');
    expect(toAdmin()).toHaveLength(1); // told once
  });

  it('a write refused with ACCESS_DENIED is kept and retried, the administrator told; it goes through once allowed, and the notice clears', async () => {
    stack.emulator.switches.failNext.set('crm.lead.add', new RestError(403, 'ACCESS_DENIED', 'Access denied! Only Bitrix24 users with a REST-enabled plan can call this method.'));
    await uccxLookup(stack.url, { ani: '+7 999 555-02-01', callId: 'acc-1', token });
    await waitFor(() => toAdmin().length === 1 || null, 30_000, 'the administrator told');
    expect(toAdmin()[0]!.message).toMatch(/отказал коннектору в доступе к crm\.lead\.add \(«ACCESS_DENIED Access denied!/);
    await waitFor(async () => (await stack.connector.outbox.get(leadKey('79995550201')))?.state === 'done' || null, 60_000, 'the lead made on the retry');
    expect(stack.emulator.leadCount('+79995550201')).toBe(1);
    await waitFor(async () => (await notices()).length === 0 || null, 30_000, 'the notice cleared by the next success');
  });
});
