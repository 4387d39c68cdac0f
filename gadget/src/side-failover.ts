import type { NotificationSource, SourceHandlers } from './notification-source';

/**
 * The standalone page with both Finesse nodes of a UCCX HA pair ("smart failover"): it connects to the side whose
 * SystemInfo says IN_SERVICE — never to one that is not — and while the side in use is away it watches both; once
 * the other side is in service (and this one is not) it moves there, reads the live dialogs from it and dials
 * through it. Pops and call reports stay single: the tracker and the journal dedupe by dialog id, and the middleware
 * by its keys.
 */
export type SideState = 'IN_SERVICE' | 'OUT_OF_SERVICE' | 'unreachable';

export interface FinesseSide {
  name: string;
  /** The side's notification service (WebSocket or BOSH URL). */
  xmpp: string;
  /** The side's Finesse REST base. */
  rest: string;
}

export interface SideFailoverDeps {
  source(side: FinesseSide): NotificationSource;
  probe(side: FinesseSide): Promise<SideState>;
  /** The side now in use: dialogs are read and calls placed there. */
  use(side: FinesseSide): void;
  log(message: string): void;
  /** How often the sides are looked at while the one in use is away. */
  probeMs?: number;
}

const PROBE_MS = 2000;

export class SideFailover implements NotificationSource {
  readonly kind: 'websocket' | 'bosh';
  private h: SourceHandlers | null = null;
  private current: { index: number; source: NotificationSource } | null = null;
  private everOnline = false;
  private away = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;

  constructor(
    private readonly sides: FinesseSide[],
    private readonly deps: SideFailoverDeps,
  ) {
    this.kind = /^wss?:/i.test(sides[0]?.xmpp ?? '') ? 'websocket' : 'bosh';
  }

  /** The side in use (for the view and the tests). */
  get using(): FinesseSide | null {
    return this.current ? this.sides[this.current.index]! : null;
  }

  start(h: SourceHandlers): void {
    this.h = h;
    this.stopped = false;
    void this.pick();
  }

  private async states(): Promise<SideState[]> {
    return Promise.all(this.sides.map((s) => this.deps.probe(s).catch((): SideState => 'unreachable')));
  }

  private describe(states: SideState[]): string {
    return this.sides.map((s, i) => `${s.name}: ${states[i]}`).join(', ');
  }

  /** First connection (and after a failed one): the side in service, the one used last preferred. */
  private async pick(): Promise<void> {
    const states = await this.states();
    if (this.stopped) return;
    const prefer = this.current?.index ?? 0;
    let i = states[prefer] === 'IN_SERVICE' ? prefer : states.indexOf('IN_SERVICE');
    // SystemInfo not readable on any side (e.g. the browser may not read it across origins): try the preferred one.
    if (i < 0 && states.every((s) => s === 'unreachable')) {
      this.deps.log(`SystemInfo of no Finesse side could be read (${this.describe(states)}); connecting to ${this.sides[prefer]!.name}`);
      i = prefer;
    }
    if (i < 0) {
      this.h!.state({ status: this.everOnline ? 'reconnecting' : 'connecting', reason: `no Finesse side is in service (${this.describe(states)})` });
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.pick();
      }, this.deps.probeMs ?? PROBE_MS);
      return;
    }
    this.connect(i);
  }

  private connect(index: number): void {
    const h = this.h!;
    this.current?.source.stop();
    const side = this.sides[index]!;
    this.deps.use(side);
    const source = this.deps.source(side);
    this.current = { index, source };
    this.away = false;
    let online = false;
    source.start({
      update: (p) => h.update(p),
      invalid: (r) => h.invalid(r),
      resync: () => h.resync(),
      state: (st) => {
        if (this.current?.source !== source) return; // a side left behind
        h.state(st.status === 'connected' && this.sides.length > 1 ? { ...st, reason: `Finesse ${side.name}` } : st);
        if (st.status === 'connected') {
          // A side just joined: what happened while away is read from it.
          if (!online && this.everOnline) h.resync();
          online = true;
          this.everOnline = true;
          this.away = false;
          this.stopWatching();
        } else if (st.status === 'reconnecting' || st.status === 'connecting') {
          this.away = true;
          this.watch();
        }
      },
    });
  }

  /** While away: move to another side once it is in service and the one in use is not. */
  private watch(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(async () => {
      this.timer = null;
      const at = this.current?.index;
      if (this.stopped || !this.away || at === undefined) return;
      const states = await this.states();
      if (this.stopped || !this.away || this.current?.index !== at) return;
      const other = states.findIndex((s, j) => j !== at && s === 'IN_SERVICE');
      if (states[at] !== 'IN_SERVICE' && other >= 0) {
        this.deps.log(`Finesse failover: ${this.sides[at]!.name} → ${this.sides[other]!.name} (${this.describe(states)})`);
        this.connect(other);
        return;
      }
      this.watch();
    }, this.deps.probeMs ?? PROBE_MS);
  }

  private stopWatching(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  stop(): void {
    this.stopped = true;
    this.stopWatching();
    this.current?.source.stop();
  }
}

/** A SystemInfo's status, as finesse.js's SystemInfo.getStatus reads it. */
export async function probeSystemInfo(side: FinesseSide, authorization: string, http: typeof fetch, parse: (xml: string) => Document): Promise<SideState> {
  let res: Response;
  try {
    res = await http(`${side.rest}/finesse/api/SystemInfo`, { headers: { authorization, accept: 'application/xml' } });
  } catch {
    return 'unreachable';
  }
  if (!res.ok) return res.status === 503 ? 'OUT_OF_SERVICE' : 'unreachable';
  const doc = parse(await res.text());
  if (doc.documentElement?.nodeName !== 'SystemInfo') return 'unreachable';
  const status = (doc.getElementsByTagName('status')[0]?.textContent ?? '').trim();
  return status === 'IN_SERVICE' ? 'IN_SERVICE' : 'OUT_OF_SERVICE';
}
