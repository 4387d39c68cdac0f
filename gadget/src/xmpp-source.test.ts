import { waitFor } from '../../testing/wait';
import { LAB_AGENTS } from '../../scripts/lab/finesse/finesse-emulator';
import { ProsodyServer } from '../../scripts/lab/finesse/prosody';
import { BoshConnection, BoshSocket } from './bosh';
import type { ConnectionState } from './notification-source';
import { chooseService, XmppSource } from './xmpp-source';

BoshSocket.tuning = { wait: 5, marginMs: 2000, retries: 3, retryDelayMs: 100 };

describe('XmppSource', () => {
  const prosody = new ProsodyServer(
    'finesse.lab',
    LAB_AGENTS.map((a) => ({ username: a.id, password: a.password })),
  );
  beforeAll(() => prosody.start());
  afterAll(async () => {
    prosody.resume();
    await prosody.dispose();
  });

  /** Agent 1001's source over one transport, recording the states it reports. */
  async function agentSource(kind: 'bosh' | 'websocket', extra: { pingMs?: number } = {}) {
    if (kind === 'websocket') (globalThis as { WebSocket?: unknown }).WebSocket ??= (await import('ws')).WebSocket;
    const states: ConnectionState[] = [];
    const source = new XmppSource({
      service: kind === 'bosh' ? prosody.boshUrl : prosody.websocketUrl,
      domain: prosody.domain,
      username: '1001',
      password: 'lab',
      transports: [BoshConnection],
      ...extra,
    });
    const start = () => source.start({ update: () => undefined, invalid: () => undefined, resync: () => undefined, state: (s) => states.push(s) });
    return { source, states, start };
  }

  it.each(['bosh', 'websocket'] as const)('connects once a server that hung through its first handshake answers again (%s)', async (kind) => {
    const { source, states, start } = await agentSource(kind);
    prosody.pause(); // the first handshake hangs
    try {
      start();
      // The handshake is under way against a server that answers nothing (its socket is held open by the kernel).
      await waitFor(() => states.some((s) => s.status === 'connecting'), 20000, 'the first handshake under way against the hung server');
      expect(states.some((s) => s.status === 'connected')).toBe(false);
      prosody.resume();
      await waitFor(() => states.some((s) => s.status === 'connected'), 20000, 'the source to connect');
    } finally {
      source.stop();
      prosody.resume();
    }
  });

  it.each(['websocket', 'bosh'] as const)('pings the server on its own; a server that stops answering is left and reconnected to (%s)', async (kind) => {
    const { source, states, start } = await agentSource(kind, { pingMs: 500 });
    try {
      start();
      await waitFor(() => states.some((s) => s.status === 'connected'), 20000, 'connected');
      prosody.pause(); // silent: the socket stays open, nothing answers
      await waitFor(() => states.find((s) => s.status === 'reconnecting' && /ping/.test(s.reason ?? '')), 20000, 'the unanswered ping to end the connection');
      prosody.resume();
      const before = states.length;
      await waitFor(() => states.slice(before).some((s) => s.status === 'connected'), 20000, 'connected again');
    } finally {
      source.stop();
      prosody.resume();
    }
  });

  it('prefers WebSocket when both transports are given', () => {
    expect(chooseService('https://f.example:7443/http-bind, wss://f.example:8445/ws/')).toBe('wss://f.example:8445/ws/');
    expect(chooseService('https://f.example:7443/http-bind')).toBe('https://f.example:7443/http-bind');
    expect(chooseService('')).toBe('');
  });
});
