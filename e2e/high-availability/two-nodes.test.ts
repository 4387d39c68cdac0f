import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bitrix24Emulator } from '../../scripts/lab/bitrix24-emulator/server';
import { FinesseEmulator } from '../../scripts/lab/finesse/finesse-emulator';
import { HaproxyServer } from '../../scripts/lab/haproxy';
import { LAB_UCCX_TOKEN, middlewareEnv } from '../../scripts/lab/lab-stack';
import { MiddlewareNode } from '../../scripts/lab/middleware-node';
import { PostgresServer } from '../../testing/postgres-server';
import { AgentClient, type ReceivedCommand } from '../../testing/agent-client';
import { waitFor } from '../../testing/wait';
import { uccxLookup } from '../../testing/lookup-client';
import { freePort } from '../../testing/process-group';

/**
 * Two middleware processes on one PostgreSQL, behind the documented HAProxy configuration (deploy/haproxy.cfg), against
 * the Bitrix24 and Finesse emulators: what one node takes, the pair does once — also when one node is killed -9 in
 * the middle of a burst.
 */
const token = LAB_UCCX_TOKEN;
// A hang guard, not a timing goal: five processes per test on a loaded 2-core machine take long, never forever.
jest.setTimeout(120_000);

/** A POST the way the gadget sends its reports: again after a 5xx or a cut connection (its queue does that). */
async function postUntilTaken(client: AgentClient, path: string, body: unknown): Promise<void> {
  for (let i = 0; ; i++) {
    const res = await client.post(path, body).catch(() => null);
    if (res && res.status < 500) {
      expect(res.status).toBeLessThan(300);
      return;
    }
    if (i > 50) throw new Error(`${path}: not taken after ${i} tries (last: ${res?.status ?? 'no answer'})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('two middleware nodes on PostgreSQL', () => {
  let pg: PostgresServer;
  let emulator: Bitrix24Emulator;
  let finesse: FinesseEmulator;
  let lb: HaproxyServer | undefined;
  let nodes: MiddlewareNode[];
  const dirs: string[] = [];
  const clients: AgentClient[] = [];

  beforeEach(async () => {
    pg = new PostgresServer();
    emulator = new Bitrix24Emulator();
    finesse = new FinesseEmulator(mkdtempSync(join(tmpdir(), 'gd-')));
    await Promise.all([pg.start(), emulator.start(), finesse.start(0)]);
    nodes = [];
  });

  /** Two nodes behind the balancer, the application installed through it; `extra`: settings of both nodes. */
  const startPair = async (extra: Record<string, string> = {}) => {
    const ports = [await freePort(), await freePort()];
    const balancer = new HaproxyServer(ports.map((p) => `127.0.0.1:${p}`));
    lb = balancer;
    await balancer.start();
    nodes = ports.map((port, i) => {
      const dir = mkdtempSync(join(tmpdir(), `node${i + 1}-`));
      dirs.push(dir);
      return new MiddlewareNode(
        `node${i + 1}`,
        port,
        middlewareEnv(emulator, 'app', dir, {
          DATABASE_URL: pg.url,
          PUBLIC_URL: balancer.url,
          FINESSE_URL: finesse.url,
          LOOKUP_CACHE_TTL_S: '0',
          DIAL_RESULT_TIMEOUT_MS: '5000',
          LOG_LEVEL: 'warn',
          ...extra,
        }),
      );
    });
    await Promise.all(nodes.map((n) => n.start()));
    await balancer.serving();
    const res = await emulator.installInto(`${balancer.url}/bitrix/install`);
    expect(res.status).toBe(200);
    // Both nodes serve once the installation is theirs (the other node heard of it over the store).
    for (const n of nodes) await waitFor(async () => (await uccxLookup(n.url, { ani: '89123456789', token })).fields.status === 'found', 20_000, `${n.name} installed`);
    return { one: nodes[0]!, two: nodes[1]!, balancer };
  };

  afterEach(async () => {
    // FB24_DEBUG_NODES=1: the nodes' logs, to see why a test failed.
    if (process.env.FB24_DEBUG_NODES) for (const n of nodes) process.stderr.write(`--- ${n.name}\n${readFileSync(n.logFile, 'utf8')}\n`);
    for (const c of clients.splice(0)) c.close();
    await Promise.all(nodes.map((n) => n.kill()));
    await lb?.stop();
    await Promise.all([finesse.stop(), emulator.stop(), pg.stop()]);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const agentOn = async (url: string, onCommand?: (c: ReceivedCommand, client: AgentClient) => void) => {
    const c = new AgentClient(url, '1001', 'lab');
    clients.push(c);
    expect((await c.open()).status).toBe(200);
    await c.listen(onCommand && ((cmd) => onCommand(cmd, c)));
    return c;
  };

  it("a click that reaches node 1 dials through the agent's gadget connected to node 2, and its call is logged once", async () => {
    const { one, two } = await startPair();
    emulator.bindings.set('ONEXTERNALCALLSTART', new Set([`${one.url}/bitrix/events`]));
    const onTwo = await agentOn(two.url);
    const click = await emulator.clickToCall(5, '+7 912 345 67 89', { type: 'CONTACT', id: 42 });
    const cmd = await onTwo.command(0);
    expect(cmd).toMatchObject({ callId: click.CALL_ID, toAddress: '89123456789' });
    // The outcome comes back to the node that holds the stream, which passes it on to node 1.
    expect((await onTwo.post('/api/agent/dial-result', { commandId: cmd.id, ok: true })).status).toBe(204);
    // The dialog's reports may reach either node; the click's call is finished once, with its talk time.
    const reporter = new AgentClient(one.url, '1001', 'lab');
    reporter.token = onTwo.token; // one session, good on both nodes (the signing key is shared)
    const t0 = Date.now();
    await postUntilTaken(reporter, '/api/agent/calls', { dialogId: '501', direction: 'outbound', number: cmd.toAddress, startedAt: t0, answeredAt: t0 + 1000, endedAt: null, failure: null });
    await postUntilTaken(onTwo, '/api/agent/calls', { dialogId: '501', direction: 'outbound', number: cmd.toAddress, startedAt: t0, answeredAt: t0 + 1000, endedAt: t0 + 4000, failure: null });
    await waitFor(() => click.finished, 20_000, 'the click finished');
    expect(click.finished).toMatchObject({ STATUS_CODE: '200', DURATION: 3 });
    expect(emulator.calls).toHaveLength(1);
    expect(emulator.counters.calls['telephony.externalCall.finish']).toBe(1);
  });

  it("a CRM change Bitrix24 tells node 1 reaches node 2's own phone index, with no second read of the record", async () => {
    const { one, two } = await startPair({ PHONE_INDEX_SYNC_S: '3600' });
    const indexComplete = async (n: MiddlewareNode) => /^phone_index_complete 1$/m.test(await (await fetch(`${n.url}/metrics`)).text());
    for (const n of nodes) await waitFor(() => indexComplete(n), 20_000, `${n.name}'s index built`);
    emulator.bindings.set('ONCRMCONTACTUPDATE', new Set([`${one.url}/bitrix/events`]));
    const contact = emulator.portal.get('CONTACT', 42)!;
    contact.PHONE = [{ ID: 9001, VALUE: '+7 926 111-22-33', VALUE_TYPE: 'WORK' }];
    const reads = emulator.counters.calls['crm.contact.get'] ?? 0;
    expect(await emulator.crmChanged('CONTACT', 42, 'UPDATE')).toEqual([200]);
    // Node 1 answers the event at once and reads the record after.
    await waitFor(() => (emulator.counters.calls['crm.contact.get'] ?? 0) > reads, 20_000, 'node 1 read the record');
    emulator.switches.outage = 'error'; // from here on only the indexes answer
    await waitFor(async () => (await uccxLookup(two.url, { ani: '89261112233', token })).fields.entityId === '42', 20_000, "node 2's index has the new number");
    expect((await uccxLookup(two.url, { ani: '89261112233', token })).fields).toMatchObject({ route: 'agent', extension: '1021', entityType: 'CONTACT' });
    expect(emulator.counters.calls['crm.contact.get'] ?? 0).toBe(reads + 1);
  });

  it('PostgreSQL stopped and started under load, through the shipped HAProxy configuration: the balancer keeps both nodes, every lookup is answered, every new caller gets exactly one lead once it is back; /readyz and the metrics say why meanwhile', async () => {
    const { one, two, balancer } = await startPair();
    const agent = await agentOn(one.url);
    const metric = async (n: MiddlewareNode, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${n.url}/metrics`)).text())?.[1]);
    await pg.stop(true); // keeps its data: started again below
    // Both nodes have seen the store go (their watch) before the load starts: the balancer must keep them anyway.
    for (const n of [one, two]) await waitFor(async () => (await metric(n, 'store_up')) === 0, 20_000, `${n.name} sees the store down`);

    // 60 lookups at 10 a second through the balancer, a third of them known callers, the rest new ones.
    const fresh = Array.from({ length: 40 }, (_, i) => `+7 999 66${String(i).padStart(5, '0')}`);
    const anis = fresh.flatMap((ani, i) => (i % 2 ? [ani, '89123456789'] : [ani]));
    const start = Date.now();
    const answers = await Promise.all(
      anis.map(async (ani, i) => {
        await new Promise((r) => setTimeout(r, start + i * 100 - Date.now()));
        return uccxLookup(balancer.url, { ani, callId: `pg-down-${i}`, token });
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(anis.length).fill(200)); // never HAProxy's own 503
    anis.forEach((ani, i) => expect(answers[i]!.fields.route).toBe(ani === '89123456789' ? 'agent' : 'queue'));
    for (const n of [one, two]) {
      expect((await fetch(`${n.url}/readyz/node`)).status).toBe(200);
      const ready = (await (await fetch(`${n.url}/readyz`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        ready: boolean;
        checks: { store: { ok: boolean; kind: string; reason: string } };
      };
      expect(ready).toMatchObject({ ready: false, checks: { store: { ok: false, kind: 'postgres', reason: expect.stringMatching(/PostgreSQL is unavailable/) } } });
    }
    const t0 = Date.now();
    const report = { dialogId: 'pg-1', direction: 'inbound', number: '89123456789', startedAt: t0, answeredAt: t0 + 100, endedAt: t0 + 2000, failure: null };
    expect((await agent.post('/api/agent/calls', report)).status).toBe(503); // not taken: the gadget sends it again
    for (const n of fresh) expect(emulator.leadCount(n.replace(/[^\d+]/g, ''))).toBe(0); // held until the store is back

    await pg.start();
    for (const n of [one, two]) await waitFor(async () => (await metric(n, 'store_up')) === 1, 20_000, `${n.name} has its store again`);
    await postUntilTaken(agent, '/api/agent/calls', report);
    await waitFor(() => fresh.every((n) => emulator.leadCount(n.replace(/[^\d+]/g, '')) >= 1), 60_000, 'a lead per new caller');
    await waitFor(() => emulator.calls.some((c) => c.finished), 30_000, 'the reported call logged');
    for (const n of fresh) expect(emulator.leadCount(n.replace(/[^\d+]/g, ''))).toBe(1);
    expect(emulator.calls).toHaveLength(1);
    // Every node reports the shared outbox as it is, whichever node delivered its items.
    for (const n of [one, two]) await waitFor(async () => (await metric(n, 'outbox_depth')) === 0, 30_000, `${n.name}'s outbox gauge at 0`);
  });

  it('an expired token met on both nodes at once is refreshed once; the rotated refresh token is never used twice', async () => {
    await startPair();
    // The install's requests drained from each node's share of the portal's bucket: what is measured is the refresh.
    const level = async (n: MiddlewareNode) => Number(/^bitrix24_rest_bucket_level (\S+)$/m.exec(await (await fetch(`${n.url}/metrics`)).text())?.[1]);
    for (const n of nodes) await waitFor(async () => (await level(n)) < 1, 60_000, `${n.name}'s requests drained from the bucket`);
    emulator.expireAccessTokens();
    const answers = await Promise.all(nodes.flatMap((n) => ['89123456789', '84951112233', '79160001122'].map((ani) => uccxLookup(n.url, { ani, token }))));
    expect(answers.map((a) => a.fields.status)).toEqual(Array(6).fill('found'));
    expect(emulator.counters.refreshes).toBe(1);
    expect(emulator.counters.refusedRefreshes).toBe(0);
  });

  it('kill -9 of one node in a burst of lookups, clicks and call reports: every lookup answered, no lead doubled, no call lost or doubled, no refresh token reused', async () => {
    // A lead creation node 1 was making when it died is looked for after the settle time, not sent again blindly.
    const { one, two, balancer: lb } = await startPair({ B24_WRITE_SETTLE_MS: '3000' });
    // The gadget's stream is on the node that survives; its reports and the clicks go through the balancer.
    const reports: Array<Promise<void>> = [];
    await agentOn(two.url, (cmd, client) => {
      const lb2 = new AgentClient(lb.url, '1001', 'lab');
      lb2.token = client.token;
      const t0 = Date.now();
      reports.push(
        (async () => {
          await postUntilTaken(client, '/api/agent/dial-result', { commandId: cmd.id, ok: true });
          await postUntilTaken(lb2, '/api/agent/calls', {
            dialogId: `click-${cmd.callId}`,
            direction: 'outbound',
            number: cmd.toAddress,
            startedAt: t0,
            answeredAt: t0 + 1000,
            endedAt: t0 + 3000,
            failure: null,
          });
        })(),
      );
    });
    const viaLb = new AgentClient(lb.url, '1001', 'lab');
    viaLb.token = clients[0]!.token;
    emulator.expireAccessTokens();

    const unknown = Array.from({ length: 20 }, (_, i) => `+7 999 77${String(i).padStart(5, '0')}`);
    const known = ['89123456789', '84951112233', '79160001122'];
    let answered = 0;
    const lookups = [...unknown, ...unknown, ...unknown, ...known, ...known].map(async (ani, i) => {
      const a = await uccxLookup(lb.url, { ani, callId: `burst-${i}`, token });
      answered += 1;
      return a;
    });
    const clicks = [0, 1, 2, 3, 4, 5].map((i) => emulator.clickToCall(5, `+7 912 345 60 0${i}`));
    const inbound = Array.from({ length: 10 }, (_, i) => {
      const t0 = Date.now();
      const call = { dialogId: `in-${i}`, direction: 'inbound', number: '89123456789', startedAt: t0, answeredAt: t0 + 500, endedAt: null, failure: null };
      return (async () => {
        await postUntilTaken(viaLb, '/api/agent/calls', call);
        await postUntilTaken(viaLb, '/api/agent/calls', { ...call, endedAt: t0 + 2500 });
      })();
    });
    // In the middle of it: node 1 dies without a word.
    await waitFor(() => answered >= 20, 20_000, 'a third of the lookups answered');
    await one.kill();

    const answers = await Promise.all(lookups);
    expect(answers.every((a) => a.status === 200 && (a.fields.route === 'agent' || a.fields.route === 'queue'))).toBe(true);
    await Promise.all(inbound);
    const clicked = await Promise.all(clicks);
    await waitFor(() => reports.length === 6, 30_000, 'six dial commands');
    await Promise.all(reports);

    // What node 1 held when it died is taken over by node 2 once its lease runs out.
    await waitFor(() => unknown.every((n) => emulator.leadCount(n.replace(/[^\d+]/g, '')) >= 1), 60_000, 'a lead per unknown caller');
    await waitFor(() => clicked.every((c) => c.finished) && emulator.calls.filter((c) => c.origin === 'rest').every((c) => c.finished) && emulator.calls.length === 16, 60_000, 'every call finished');
    await waitFor(async () => /^outbox_depth 0$/m.test(await (await fetch(`${two.url}/metrics`)).text()), 60_000, 'the outbox drained');
    for (const n of unknown) expect(emulator.leadCount(n.replace(/[^\d+]/g, ''))).toBe(1);
    expect(emulator.calls.filter((c) => c.origin === 'rest')).toHaveLength(10);
    expect(clicked.map((c) => c.finished?.STATUS_CODE)).toEqual(Array(6).fill('200'));
    expect(emulator.counters.calls['telephony.externalCall.finish']).toBe(16);
    expect(emulator.counters.refusedRefreshes).toBe(0);
  });
});
