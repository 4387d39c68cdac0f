import { randomUUID } from 'node:crypto';
import type { DialCommand } from '../../protocol/agent-api';

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

export type DialOutcome = { ok: true } | { ok: false; code: 'no_gadget' | 'timeout' | 'interrupted' | 'agent_busy' | 'finesse_refused'; reason: string; state?: string };

export interface Stream extends AgentIdentity {
  id: string;
  openedAt: number;
  send(event: string, data: unknown): void;
  /** Closes the stream (the gadget reconnects). */
  end(): void;
}

interface Pending {
  /** The agent the command went to; null while it is out on the bus and no node has taken it yet. */
  agentId: string | null;
  resolve: (o: DialOutcome) => void;
  timer: NodeJS.Timeout;
  accept?: NodeJS.Timeout;
}

/** The other nodes (the store's LISTEN/NOTIFY on PostgreSQL): the gadget's stream may be held by another node. */
export interface NodeBus {
  publish(topic: string, data: unknown): Promise<void>;
  subscribe(topic: string, listener: (data: unknown, from: string) => void): void;
}

interface DialRequest {
  extension: string;
  command: DialCommand;
  timeoutMs: number;
}

/** How long a command put on the bus waits for a node that holds the agent's stream to take it. */
export const BUS_ACCEPT_MS = 1500;

/** Open command streams one agent may hold (tabs, desktops); the oldest beyond it are closed. */
export const MAX_STREAMS_PER_AGENT = 5;

export class AgentChannels {
  private readonly streams = new Map<string, Stream>();
  private readonly pending = new Map<string, Pending>();
  /** Commands this node passed to one of its streams for another node: who sent them, until their outcome. */
  private readonly relayed = new Map<string, { agentId: string; timer: NodeJS.Timeout }>();

  /**
   * `onCount`: told the number of open streams whenever it changes (the agent_sessions gauge). `bus`: with two
   * nodes, a click that reaches this node while the agent's gadget listens on the other is passed there, and
   * its outcome comes back the same way.
   */
  constructor(
    private readonly onCount: (n: number) => void = () => undefined,
    private readonly bus: NodeBus | null = null,
  ) {
    if (!bus) return;
    bus.subscribe('dial.request', (data) => this.takeRequest(data as DialRequest));
    bus.subscribe('dial.accepted', (data) => {
      const d = data as { commandId: string; agentId: string };
      const p = this.pending.get(d.commandId);
      if (!p || p.agentId !== null) return;
      p.agentId = d.agentId;
      clearTimeout(p.accept);
    });
    bus.subscribe('dial.result', (data) => {
      const d = data as { commandId: string; agentId: string; outcome: DialOutcome };
      this.settleHere(d.agentId, d.commandId, d.outcome);
    });
  }

  /** Another node's click for an agent whose stream is here: sent to the gadget, and said so. */
  private takeRequest(r: DialRequest): void {
    const stream = this.target(r.extension);
    if (!stream) return;
    const timer = setTimeout(() => this.relayed.delete(r.command.id), r.timeoutMs + 1000);
    timer.unref();
    this.relayed.set(r.command.id, { agentId: stream.agentId, timer });
    stream.send('dial', r.command);
    void this.bus!.publish('dial.accepted', { commandId: r.command.id, agentId: stream.agentId }).catch(() => undefined);
  }

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
    const noGadget: DialOutcome = { ok: false, code: 'no_gadget', reason: `no gadget online for extension ${extension}` };
    if (!stream && !this.bus) return Promise.resolve(noGadget);
    const command: DialCommand = { ...cmd, id: randomUUID() };
    return new Promise<DialOutcome>((resolve) => {
      const done = (o: DialOutcome) => {
        const p = this.pending.get(command.id);
        if (!p) return;
        clearTimeout(p.timer);
        clearTimeout(p.accept);
        this.pending.delete(command.id);
        resolve(o);
      };
      const timer = setTimeout(() => done({ ok: false, code: 'timeout', reason: `the gadget did not answer within ${timeoutMs} ms` }), timeoutMs);
      if (stream) {
        this.pending.set(command.id, { agentId: stream.agentId, resolve: done, timer });
        stream.send('dial', command);
        return;
      }
      // Not here: the node that holds the agent's stream takes it, or nobody does and the agent has no gadget open.
      const accept = setTimeout(() => done(noGadget), Math.min(BUS_ACCEPT_MS, timeoutMs));
      this.pending.set(command.id, { agentId: null, resolve: done, timer, accept });
      this.bus!.publish('dial.request', { extension, command, timeoutMs } satisfies DialRequest).catch(() => done(noGadget));
    });
  }

  /**
   * The gadget's report of a command; false when the command is unknown, settled, or not this agent's. A command
   * this node relayed for another node is answered there.
   */
  settle(agentId: string, commandId: string, outcome: DialOutcome): boolean {
    if (this.settleHere(agentId, commandId, outcome)) return true;
    const relay = this.relayed.get(commandId);
    if (!relay || relay.agentId !== agentId || !this.bus) return false;
    clearTimeout(relay.timer);
    this.relayed.delete(commandId);
    void this.bus.publish('dial.result', { commandId, agentId, outcome }).catch(() => undefined);
    return true;
  }

  private settleHere(agentId: string, commandId: string, outcome: DialOutcome): boolean {
    const p = this.pending.get(commandId);
    if (!p || p.agentId !== agentId) return false;
    p.resolve(outcome);
    return true;
  }

  close(): void {
    for (const p of [...this.pending.values()]) p.resolve({ ok: false, code: 'interrupted', reason: 'the middleware is stopping' });
    for (const r of this.relayed.values()) clearTimeout(r.timer);
    this.relayed.clear();
    for (const s of this.streams.values()) s.end();
    this.streams.clear();
    this.onCount(0);
  }
}
