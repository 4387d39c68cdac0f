import { waitFor } from './wait';
/**
 * Speaks the gadget's side of /api/agent/* over HTTP, for the middleware's tests and the benchmark: opens a session
 * with the agent's Finesse credentials, collects dial commands from the event stream, reports outcomes and calls.
 */
export interface ReceivedCommand {
  id: string;
  callId: string;
  toAddress: string;
  whenReady: string;
}

export class AgentClient {
  token = '';
  readonly commands: ReceivedCommand[] = [];
  private abort = new AbortController();

  constructor(
    private readonly middlewareUrl: string,
    readonly agentId: string,
    private readonly password: string,
  ) {}

  static basic(user: string, password: string): string {
    return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  async open(): Promise<Response> {
    const res = await fetch(`${this.middlewareUrl}/api/agent/session`, {
      method: 'POST',
      headers: { authorization: AgentClient.basic(this.agentId, this.password), 'content-type': 'application/json' },
      body: JSON.stringify({ agentId: this.agentId }),
    });
    if (res.ok) this.token = ((await res.clone().json()) as { token: string }).token;
    return res;
  }

  /** Opens the command stream; resolves once the middleware said "ready". */
  async listen(onCommand?: (c: ReceivedCommand) => void): Promise<void> {
    const res = await fetch(`${this.middlewareUrl}/api/agent/commands`, { headers: { authorization: `Bearer ${this.token}` }, signal: this.abort.signal });
    if (!res.ok || !res.body) throw new Error(`stream refused: HTTP ${res.status}`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (block.includes('event: ready')) ready();
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (block.includes('event: dial') && data) {
            const c = JSON.parse(data) as ReceivedCommand;
            this.commands.push(c);
            onCommand?.(c);
          }
        }
      }
    })();
    await isReady;
  }

  /** The index-th dial command received (waiting for it to arrive). */
  command(index = 0, ms = 5000): Promise<ReceivedCommand> {
    return waitFor(() => this.commands[index], ms, `dial command #${index}`);
  }

  post(path: string, body: unknown, token = this.token): Promise<Response> {
    return fetch(`${this.middlewareUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  close(): void {
    this.abort.abort();
  }
}
