import { LAB_AGENTS } from '../../scripts/lab/finesse/finesse-emulator';
import { ProsodyServer } from '../../scripts/lab/finesse/prosody';
import { BoshConnection, BoshSocket } from './bosh';
import type { ConnectionState } from './notification-source';
import { XmppSource } from './xmpp-source';

BoshSocket.tuning = { wait: 5, marginMs: 2000, retries: 3, retryDelayMs: 100 };

describe('XmppSource', () => {
  const prosody = new ProsodyServer('finesse.lab', LAB_AGENTS.map((a) => ({ username: a.id, password: a.password })));
  beforeAll(() => prosody.start());
  afterAll(async () => {
    prosody.resume();
    await prosody.stop();
  });

  it.each(['bosh', 'websocket'] as const)('connects after a first handshake that timed out against a hanging server (%s)', async (kind) => {
    if (kind === 'websocket') (globalThis as { WebSocket?: unknown }).WebSocket ??= (await import('ws')).WebSocket;
    const states: ConnectionState[] = [];
    const source = new XmppSource({
      service: kind === 'bosh' ? prosody.boshUrl : prosody.websocketUrl,
      domain: prosody.domain,
      username: '1001',
      password: 'lab',
      transports: [BoshConnection],
    });
    prosody.pause(); // the first handshake hangs until the client gives up on it
    source.start({ update: () => undefined, resync: () => undefined, state: (s) => states.push(s) });
    await new Promise((r) => setTimeout(r, 3000));
    expect(states.some((s) => s.status === 'connected')).toBe(false);
    prosody.resume();
    const end = Date.now() + 15_000;
    while (!states.some((s) => s.status === 'connected') && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    source.stop();
    expect(states.map((s) => s.status)).toContain('connected');
  });
});
