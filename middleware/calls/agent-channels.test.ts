import { AgentChannels, MAX_STREAMS_PER_AGENT, type DialCommand } from './agent-channels';

const cmd = { callId: 'externalCall.x', toAddress: '989123456789', whenReady: 'switch' as const, reasonCodeId: null };

describe('AgentChannels', () => {
  it('sends a click to exactly one stream of the agent: the newest; others and other agents get nothing', async () => {
    const ch = new AgentChannels();
    const got: Record<string, DialCommand[]> = { old: [], recent: [], other: [] };
    ch.attach({ agentId: '1001', extension: '1021', send: (_e, d) => got.old!.push(d as DialCommand), end: () => undefined });
    // Attached in the same millisecond: the later one is still the newest.
    ch.attach({ agentId: '1001', extension: '1021', send: (_e, d) => got.recent!.push(d as DialCommand), end: () => undefined });
    ch.attach({ agentId: '1002', extension: '1022', send: (_e, d) => got.other!.push(d as DialCommand), end: () => undefined });
    const outcome = ch.dial('1021', cmd, 1000);
    expect(got.recent).toHaveLength(1);
    expect(got.old).toHaveLength(0);
    expect(got.other).toHaveLength(0);
    const id = got.recent![0]!.id;
    expect(ch.settle('1002', id, { ok: true })).toBe(false); // another agent cannot answer for him
    expect(ch.settle('1001', id, { ok: true })).toBe(true);
    expect(ch.settle('1001', id, { ok: true })).toBe(false); // once
    await expect(outcome).resolves.toEqual({ ok: true });
  });

  it('says so when the agent has no gadget online, and when the gadget does not answer in time', async () => {
    const ch = new AgentChannels();
    await expect(ch.dial('1021', cmd, 1000)).resolves.toMatchObject({ ok: false, code: 'no_gadget' });
    const s = ch.attach({ agentId: '1001', extension: '1021', send: () => undefined, end: () => undefined });
    await expect(ch.dial('1021', cmd, 20)).resolves.toMatchObject({ ok: false, code: 'timeout' });
    ch.detach(s.id);
    expect(ch.online('1021')).toBe(false);
  });

  it('caps the streams of one agent: beyond five the oldest is ended, other agents untouched', () => {
    const ch = new AgentChannels();
    const ended: number[] = [];
    for (let i = 0; i < 7; i++) ch.attach({ agentId: '1001', extension: '1021', send: () => undefined, end: () => ended.push(i) });
    ch.attach({ agentId: '1002', extension: '1022', send: () => undefined, end: () => ended.push(99) });
    expect(ended).toEqual([0, 1]);
    expect(ch.count()).toBe(MAX_STREAMS_PER_AGENT + 1);
  });
});
