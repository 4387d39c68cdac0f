import { parseStringPromise } from 'xml2js';
import { FinesseUnreachable, signedInAgent, type SignedInAgent } from './finesse-users';

/**
 * Finesse on both nodes of a UCCX HA pair: only one side is IN_SERVICE at a time; the other answers 503 to normal
 * operations (Cisco: SystemInfo.Statuses). Sessions are checked on the side in use; when it does not answer, the
 * sides' `GET /finesse/api/SystemInfo` (`status`, as finesse.js's SystemInfo.getStatus reads it) says which one to
 * move to — never to a side that is not in service.
 */
export type SideState = 'IN_SERVICE' | 'OUT_OF_SERVICE' | 'unreachable';

export interface FinesseSidesStatus {
  using: string;
  sides: Array<{ url: string; state: SideState | 'unknown'; checkedAt: string | null }>;
  lastSwitch: { at: string; to: string; reason: string } | null;
}

export async function systemInfoState(baseUrl: string, authorization: string | null, timeoutMs: number): Promise<SideState> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/finesse/api/SystemInfo`, {
      headers: { accept: 'application/xml', ...(authorization ? { authorization } : {}) },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    return 'unreachable';
  }
  const body = await res.text();
  if (!res.ok) return res.status === 503 ? 'OUT_OF_SERVICE' : 'unreachable';
  return systemInfoStatus(body);
}

/** A SystemInfo's `status`: in service only when it says IN_SERVICE; not a SystemInfo at all: unreachable. */
export async function systemInfoStatus(xml: string): Promise<SideState> {
  try {
    const doc = (await parseStringPromise(xml)) as { SystemInfo?: { status?: unknown[] } };
    if (!doc.SystemInfo) return 'unreachable';
    const status = String(doc.SystemInfo.status?.[0] ?? '').trim();
    return status === 'IN_SERVICE' ? 'IN_SERVICE' : 'OUT_OF_SERVICE';
  } catch {
    return 'unreachable';
  }
}

export class FinesseSides {
  private current = 0;
  private readonly seen: Array<{ state: SideState | 'unknown'; checkedAt: string | null }>;
  private lastSwitch: FinesseSidesStatus['lastSwitch'] = null;

  constructor(
    readonly urls: string[],
    private readonly timeoutMs: number,
  ) {
    if (!urls.length) throw new Error('no Finesse side');
    this.seen = urls.map(() => ({ state: 'unknown' as const, checkedAt: null }));
  }

  get using(): string {
    return this.urls[this.current]!;
  }

  /** Which side is in use: 0 for the first of FINESSE_URL, 1 for the second. */
  get usingIndex(): number {
    return this.current;
  }

  status(): FinesseSidesStatus {
    return { using: this.using, sides: this.urls.map((url, i) => ({ url, ...this.seen[i]! })), lastSwitch: this.lastSwitch };
  }

  /** Asks every side for its SystemInfo; moves to the one in service (the side in use first, if it still is). */
  async choose(authorization: string | null, reason: string): Promise<string> {
    const states = await Promise.all(this.urls.map((u) => systemInfoState(u, authorization, this.timeoutMs)));
    const at = new Date().toISOString();
    states.forEach((state, i) => (this.seen[i] = { state, checkedAt: at }));
    const pick = states[this.current] === 'IN_SERVICE' ? this.current : states.findIndex((s) => s === 'IN_SERVICE');
    if (pick < 0) throw new FinesseUnreachable(`no Finesse side is in service (${this.urls.map((u, i) => `${u}: ${states[i]}`).join(', ')})`);
    if (pick !== this.current) {
      this.current = pick;
      this.lastSwitch = { at, to: this.using, reason: reason.slice(0, 300) };
    }
    return this.using;
  }

  /** The agent's session checked on the side in service; one move to the other side when the one in use fails. */
  async signedInAgent(agentId: string, authorization: string): Promise<SignedInAgent> {
    // The side this attempt used: another request may move us while this one waits.
    const tried = this.using;
    try {
      return await signedInAgent(tried, agentId, authorization, this.timeoutMs);
    } catch (err) {
      if (!(err instanceof FinesseUnreachable) || this.urls.length < 2) throw err;
      const side = await this.choose(authorization, err.message);
      if (side === tried) throw err;
      return signedInAgent(side, agentId, authorization, this.timeoutMs);
    }
  }
}
