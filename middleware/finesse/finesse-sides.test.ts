import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FinesseEmulator, LAB_AGENTS } from '../../scripts/lab/finesse/finesse-emulator';
import { FinesseSides } from './finesse-sides';
import { FinesseRefused } from './finesse-users';

/** Finesse side A/B of a UCCX HA pair: sign-ins are checked on the side in service, whichever it is. */
describe('Finesse sides', () => {
  const finesse = new FinesseEmulator(join(__dirname, '../../gadget/dist'));
  const agent = LAB_AGENTS[0]!;
  const basic = (pw = agent.password) => `Basic ${Buffer.from(`${agent.id}:${pw}`).toString('base64')}`;
  let sides: FinesseSides;

  beforeAll(async () => {
    await finesse.start();
    await finesse.startSideB();
    sides = new FinesseSides([finesse.url, finesse.urlB], 2000);
  });
  afterAll(() => finesse.stop());

  it('checks on side A while it is in service', async () => {
    expect(await sides.signedInAgent(agent.id, basic())).toMatchObject({ agentId: agent.id, extension: agent.extension });
    expect(sides.status()).toMatchObject({ using: finesse.url, lastSwitch: null });
  });

  it('during a failover (neither side in service) says so, and moves to no side', async () => {
    finesse.setSide('A', false);
    await expect(sides.signedInAgent(agent.id, basic())).rejects.toThrow(/no Finesse side is in service .*OUT_OF_SERVICE.*OUT_OF_SERVICE/);
    expect(sides.status().using).toBe(finesse.url);
  });

  it('moves to side B once B is in service, and says why', async () => {
    finesse.setSide('B', true);
    expect(await sides.signedInAgent(agent.id, basic())).toMatchObject({ agentId: agent.id });
    expect(sides.status()).toMatchObject({
      using: finesse.urlB,
      lastSwitch: { to: finesse.urlB, reason: 'Finesse answered HTTP 503' },
      sides: [
        { url: finesse.url, state: 'OUT_OF_SERVICE' },
        { url: finesse.urlB, state: 'IN_SERVICE' },
      ],
    });
  });

  it('a sign-in whose side failed after another one moved us still reaches the side in service', async () => {
    // Side A out of service, answering its 503s only when the test lets it: the second answer comes after the
    // first sign-in has moved to B.
    const held: Array<() => void> = [];
    const arrived: Array<() => void> = [];
    const sideA = http.createServer((req, res) => {
      if (req.url === '/finesse/api/SystemInfo') return res.end('<SystemInfo><status>OUT_OF_SERVICE</status></SystemInfo>');
      held.push(() => void (res.headersSent || res.writeHead(503).end()));
      arrived.splice(0).forEach((a) => a());
    });
    await new Promise<void>((r) => sideA.listen(0, '127.0.0.1', () => r()));
    const a = `http://127.0.0.1:${(sideA.address() as AddressInfo).port}`;
    const waitHeld = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (held.length >= n ? resolve() : arrived.push(check));
        check();
      });
    try {
      finesse.setSide('A', false);
      finesse.setSide('B', true);
      const both = new FinesseSides([a, finesse.urlB], 2000);
      const first = both.signedInAgent(agent.id, basic());
      const second = both.signedInAgent(agent.id, basic());
      await waitHeld(2);
      held[0]!();
      await expect(first).resolves.toMatchObject({ agentId: agent.id });
      expect(both.status().using).toBe(finesse.urlB);
      held[1]!();
      await expect(second).resolves.toMatchObject({ agentId: agent.id });
    } finally {
      held.forEach((release) => release());
      sideA.closeAllConnections();
      await new Promise<void>((r) => sideA.close(() => r()));
    }
  });

  it('a refusal is an answer: wrong credentials do not move it', async () => {
    await expect(sides.signedInAgent(agent.id, basic('wrong'))).rejects.toBeInstanceOf(FinesseRefused);
    expect(sides.status().using).toBe(finesse.urlB);
  });

  it('goes back to A when B fails and A is in service again', async () => {
    finesse.setSide('A', true);
    finesse.setSide('B', false);
    expect(await sides.signedInAgent(agent.id, basic())).toMatchObject({ agentId: agent.id });
    expect(sides.status().using).toBe(finesse.url);
  });

  it('takes a node that does not answer at all for a side out of service', async () => {
    const down = new FinesseSides(['http://127.0.0.1:1', finesse.url], 2000);
    expect(await down.signedInAgent(agent.id, basic())).toMatchObject({ agentId: agent.id });
    expect(down.status().sides[0]).toMatchObject({ state: 'unreachable' });
  });
});
