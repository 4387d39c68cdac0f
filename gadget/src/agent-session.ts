import type { CallReport } from './call-journal';
import type { DialCommand } from './dialer';
import { agentPath } from '../../protocol/agent-api';

/**
 * The gadget's session with the middleware (docs/click-to-dial.md "Click-to-dial"): opened once with the agent's Finesse
 * authorization (the middleware checks it with Finesse and keeps nothing), then a signed token. Dial commands arrive
 * as server-sent events, read with fetch so the token travels in a header, not the URL; heartbeats every 15 s, a
 * silent stream is dropped after 45 s, and every loss reconnects with backoff. Call reports are queued and retried
 * in order until the middleware has them.
 */
export interface SessionSettings {
  middlewareUrl: string;
  agentId: string;
  /** The agent's Finesse authorization header ("Basic …" / "Bearer …"), read fresh each time. */
  authorization: () => string;
}

export interface SessionHandlers {
  dial(cmd: DialCommand): void;
  online(up: boolean, reason?: string): void;
}

const SILENCE_MS = 45_000;
const RENEW_BEFORE_MS = 5 * 60_000;

export class AgentSession {
  private token: { value: string; expiresAt: number } | null = null;
  private running = false;
  private abort: AbortController | null = null;
  private readonly queue: CallReport[] = [];
  private flushing = false;
  /** The current stream said "ready". */
  private ready = false;

  constructor(
    private readonly s: SessionSettings,
    private readonly http: typeof fetch,
    private readonly h: SessionHandlers,
    private readonly log: (m: string) => void,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.abort?.abort();
  }

  private async open(): Promise<string> {
    const res = await this.http(`${this.s.middlewareUrl}${agentPath('session')}`, {
      method: 'POST',
      headers: { authorization: this.s.authorization(), 'content-type': 'application/json' },
      body: JSON.stringify({ agentId: this.s.agentId }),
    });
    if (!res.ok) throw new Error((await res.text()).trim() || `HTTP ${res.status}`);
    const b = (await res.json()) as { token: string; expiresAt: number };
    this.token = { value: b.token, expiresAt: b.expiresAt };
    return b.token;
  }

  private async bearer(): Promise<string> {
    if (this.token && this.token.expiresAt - Date.now() > RENEW_BEFORE_MS) return this.token.value;
    return this.open();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      this.ready = false;
      try {
        await this.listen(await this.bearer());
      } catch (err) {
        // A stream that was up counts as a fresh start: reconnect soon, back off only while it keeps failing.
        failures = this.ready ? 1 : failures + 1;
        if (!this.running) break;
        this.h.online(false, (err as Error).message);
      }
      if (!this.running) break;
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** Math.min(failures, 5))));
    }
  }

  /** One stream, until it ends, fails or falls silent. */
  private async listen(token: string): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    let silence = setTimeout(() => abort.abort(), SILENCE_MS);
    try {
      const res = await this.http(`${this.s.middlewareUrl}${agentPath('commands')}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: abort.signal });
      if (res.status === 401) this.token = null;
      if (!res.ok || !res.body) throw new Error((await res.text().catch(() => '')).trim() || `HTTP ${res.status}`);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the middleware closed the stream');
        clearTimeout(silence);
        silence = setTimeout(() => abort.abort(), SILENCE_MS);
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          this.onEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } finally {
      clearTimeout(silence);
    }
  }

  private onEvent(block: string): void {
    let event = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (event === 'ready') {
      this.ready = true;
      this.h.online(true);
      void this.flush();
    } else if (event === 'dial') {
      try {
        this.h.dial(JSON.parse(data) as DialCommand);
      } catch (err) {
        this.log(`bad dial command: ${(err as Error).message}`);
      }
    }
  }

  /** POSTs with the session token; one new session if the token was refused. */
  post(path: string, body: unknown): Promise<Response> {
    return this.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  /** GETs with the session token, likewise. */
  get(path: string): Promise<Response> {
    return this.request(path, { method: 'GET' });
  }

  private async request(path: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<Response> {
    const send = async (token: string) => this.http(`${this.s.middlewareUrl}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
    let res = await send(await this.bearer());
    if (res.status === 401) {
      this.token = null;
      res = await send(await this.bearer());
    }
    return res;
  }

  /** Queues a call report; delivered in order, retried until the middleware accepts it. */
  report(r: CallReport): void {
    this.queue.push(r);
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length && this.running) {
        let res: Response | null = null;
        try {
          res = await this.post(agentPath('calls'), this.queue[0]);
        } catch (err) {
          this.log(`call report not delivered: ${(err as Error).message}`);
        }
        if (res && (res.ok || res.status === 400)) {
          if (res.status === 400) this.log(`call report refused: ${(await res.text()).trim()}`); // would never pass: drop it
          this.queue.shift();
          continue;
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
    } finally {
      this.flushing = false;
    }
  }
}
