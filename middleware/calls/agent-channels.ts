import { randomUUID } from 'node:crypto';
import type { DialCommand } from '../../gadget/src/agent-protocol';

export type { DialCommand };

/**
 * The live gadget sessions, by agent: each is a stream the middleware can push dial commands into. A click goes to
 * exactly one stream of the agent (the most recently opened: the tab he is using), never to several, so several
 * tabs never dial twice; only the agent the command went to may report its outcome.
 */
export interface AgentIdentity {
  agentId: string;
  extension: string;
}

export type DialOutcome =
  | { ok: true }
  | { ok: false; code: 'no_gadget' | 'timeout' | 'interrupted' | 'agent_busy' | 'finesse_refused'; reason: string; state?: string };

export interface Stream extends AgentIdentity {
  id: string;
  openedAt: number;
  send(event: string, data: unknown): void;
  /** Closes the stream (the gadget reconnects). */
  end(): void;
}

interface Pending {
  agentId: string;
  resolve: (o: DialOutcome) => void;
  timer: NodeJS.Timeout;
}

/** Open command streams one agent may hold (tabs, desktops); the oldest beyond it are closed. */
export const MAX_STREAMS_PER_AGENT = 5;

export class AgentChannels {
  private readonly streams = new Map<string, Stream>();
  private readonly pending = new Map<string, Pending>();

  /** `onCount`: told the number of open streams whenever it changes (the agent_sessions gauge). */
  constructor(private readonly onCount: (n: number) => void = () => undefined) {}

  attach(s: Omit<Stream, 'id' | 'openedAt'>): Stream {
    const stream = { ...s, id: randomUUID(), openedAt: Date.now() };
    this.streams.set(stream.id, stream);
    // An agent has a few desktop tabs at most: beyond the cap the oldest stream is ended (its gadget reconnects if
    // it is still open), so a token replayed in a loop cannot pile up connections.
    const mine = [...this.streams.values()].filter((x) => x.agentId === s.agentId);
    for (const old of mine.slice(0, Math.max(0, mine.length - MAX_STREAMS_PER_AGENT))) {
      this.streams.delete(old.id);
      old.end();
    }
    this.onCount(this.streams.size);
    return stream;
  }

  detach(id: string): void {
    if (this.streams.delete(id)) this.onCount(this.streams.size);
  }

  /** The stream a command for this extension goes to, if the agent has a gadget online. */
  private target(extension: string): Stream | undefined {
    let best: Stream | undefined;
    for (const s of this.streams.values()) if (s.extension === extension && (!best || s.openedAt >= best.openedAt)) best = s;
    return best;
  }

  online(extension: string): boolean {
    return this.target(extension) !== undefined;
  }

  count(): number {
    return this.streams.size;
  }

  /** Sends the command to the agent's gadget and waits for the outcome it reports (or the deadline). */
  dial(extension: string, cmd: Omit<DialCommand, 'id'>, timeoutMs: number): Promise<DialOutcome> {
    const stream = this.target(extension);
    if (!stream) return Promise.resolve({ ok: false, code: 'no_gadget', reason: `no gadget online for extension ${extension}` });
    const command: DialCommand = { ...cmd, id: randomUUID() };
    return new Promise<DialOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(command.id);
        resolve({ ok: false, code: 'timeout', reason: `the gadget did not answer within ${timeoutMs} ms` });
      }, timeoutMs);
      this.pending.set(command.id, { agentId: stream.agentId, resolve, timer });
      stream.send('dial', command);
    });
  }

  /** The gadget's report of a command; false when the command is unknown, settled, or not this agent's. */
  settle(agentId: string, commandId: string, outcome: DialOutcome): boolean {
    const p = this.pending.get(commandId);
    if (!p || p.agentId !== agentId) return false;
    clearTimeout(p.timer);
    this.pending.delete(commandId);
    p.resolve(outcome);
    return true;
  }

  close(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, code: 'interrupted', reason: 'the middleware is stopping' });
      this.pending.delete(id);
    }
    for (const s of this.streams.values()) s.end();
    this.streams.clear();
    this.onCount(0);
  }
}
