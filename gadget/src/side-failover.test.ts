import type { ConnectionState, NotificationSource, SourceHandlers } from './notification-source';
import { SideFailover, type FinesseSide, type SideState } from './side-failover';

/** Smart failover between Finesse side A and B, with stand-in sources and SystemInfo answers we set. */
class FakeSource implements NotificationSource {
  readonly kind = 'websocket' as const;
  h: SourceHandlers | null = null;
  stopped = false;
  constructor(readonly side: FinesseSide) {}
  start(h: SourceHandlers): void {
    this.h = h;
  }
  stop(): void {
    this.stopped = true;
  }
  emit(s: ConnectionState): void {
    this.h!.state(s);
  }
}

function setup(initial: Record<string, SideState>) {
  const sides: FinesseSide[] = [
    { name: 'A', xmpp: 'wss://a/ws/', rest: 'https://a:8445' },
    { name: 'B', xmpp: 'wss://b/ws/', rest: 'https://b:8445' },
  ];
  const status = { ...initial };
  const sources: FakeSource[] = [];
  const waiters: Array<() => void> = [];
  const used: string[] = [];
  const logs: string[] = [];
  const states: ConnectionState[] = [];
  let resyncs = 0;
  const failover = new SideFailover(sides, {
    source: (side) => {
      const s = new FakeSource(side);
      sources.push(s);
      waiters.splice(0).forEach((w) => w());
      return s;
    },
    probe: async (side) => status[side.name]!,
    use: (side) => used.push(side.name),
    log: (m) => logs.push(m),
    probeMs: 5,
  });
  failover.start({ update: () => undefined, invalid: () => undefined, state: (s) => states.push(s), resync: () => (resyncs += 1) });
  /** The next source the failover opens (the event the tests wait for). */
  const nextSource = (count: number) =>
    new Promise<FakeSource>((resolve) => {
      const check = () => (sources.length >= count ? resolve(sources[count - 1]!) : waiters.push(check));
      check();
    });
  return { failover, status, sources, used, logs, states, nextSource, resyncs: () => resyncs };
}

describe('standalone page: Finesse side A/B', () => {
  const all: SideFailover[] = [];
  afterEach(() => all.splice(0).forEach((f) => f.stop()));

  it('connects to the side in service, even when it is B', async () => {
    const t = setup({ A: 'OUT_OF_SERVICE', B: 'IN_SERVICE' });
    all.push(t.failover);
    const b = await t.nextSource(1);
    expect([b.side.name, t.used]).toEqual(['B', ['B']]);
  });

  it('connects to no side while neither is in service, and says why', async () => {
    const t = setup({ A: 'OUT_OF_SERVICE', B: 'unreachable' });
    all.push(t.failover);
    await new Promise<void>((resolve) => {
      const poll = () => (t.states.length ? resolve() : setImmediate(poll));
      poll();
    });
    expect(t.states[0]).toEqual({ status: 'connecting', reason: 'no Finesse side is in service (A: OUT_OF_SERVICE, B: unreachable)' });
    expect(t.sources).toHaveLength(0);
    t.status.A = 'IN_SERVICE';
    expect((await t.nextSource(1)).side.name).toBe('A');
  });

  it('fails over: A goes away and out of service, B comes in → moves to B, reads the live dialogs there once', async () => {
    const t = setup({ A: 'IN_SERVICE', B: 'OUT_OF_SERVICE' });
    all.push(t.failover);
    const a = await t.nextSource(1);
    a.emit({ status: 'connected' });
    expect(t.resyncs()).toBe(0);
    t.status.A = 'OUT_OF_SERVICE';
    a.emit({ status: 'reconnecting', reason: 'connection lost' });
    t.status.B = 'IN_SERVICE';
    const b = await t.nextSource(2);
    expect(a.stopped).toBe(true);
    expect(t.used).toEqual(['A', 'B']);
    a.emit({ status: 'connected' }); // a late word from the side left behind changes nothing
    b.emit({ status: 'connected' });
    expect(t.resyncs()).toBe(1);
    expect(t.states.at(-1)).toEqual({ status: 'connected', reason: 'Finesse B' });
    expect(t.logs).toEqual(['Finesse failover: A → B (A: OUT_OF_SERVICE, B: IN_SERVICE)']);
    expect(t.failover.using?.name).toBe('B');
  });

  it('stays on a side that is still in service while its connection comes back', async () => {
    const t = setup({ A: 'IN_SERVICE', B: 'IN_SERVICE' });
    all.push(t.failover);
    const a = await t.nextSource(1);
    a.emit({ status: 'connected' });
    a.emit({ status: 'reconnecting' });
    // Several looks at the sides pass; A is in service, so no move.
    await new Promise<void>((resolve) => {
      let looks = 0;
      const orig = t.status;
      Object.defineProperty(orig, 'A', { get: () => ((looks += 1), looks >= 3 && resolve(), 'IN_SERVICE'), configurable: true });
    });
    a.emit({ status: 'connected' });
    expect(t.sources).toHaveLength(1);
    expect(t.resyncs()).toBe(0); // the source itself resyncs after its own reconnection
  });

  it('connects to the first side when no SystemInfo can be read at all, and says so', async () => {
    const t = setup({ A: 'unreachable', B: 'unreachable' });
    all.push(t.failover);
    expect((await t.nextSource(1)).side.name).toBe('A');
    expect(t.logs[0]).toMatch(/SystemInfo of no Finesse side could be read/);
  });
});
