import { join } from 'node:path';
import { NodeProcess } from '../../testing/node-process';

/**
 * One middleware node as its own process (`npm run middleware`, as in production), for the lab's second node and
 * the two-node tests: started, killed (`kill -9`, the whole process group) and started again on the same port.
 */
export class MiddlewareNode {
  private proc: NodeProcess | null = null;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  /** Its log (JSON lines), in its data folder. */
  get logFile(): string {
    return join(this.env.DATA_DIR ?? '.', 'node.log');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  /**
   * Starts the process; resolves once it serves with its store opened and read (`/readyz/node` as an operator sees it), fails if it
   * exits first or takes over 30 s.
   */
  async start(): Promise<void> {
    if (this.proc) return;
    const proc = new NodeProcess('middleware/main.ts', { ...this.env, PORT: String(this.port), HOST: '127.0.0.1' }, this.logFile);
    this.proc = proc;
    let exited = false;
    void proc.exited.then(() => (exited = true));
    const end = Date.now() + 30_000;
    for (;;) {
      if (exited) {
        this.proc = null;
        throw new Error(`middleware node ${this.name} exited at start (run \`npm run middleware\` with its settings to see why)`);
      }
      // Serving is not enough to count as started: its store opened and read (an operator sees the store's state).
      const ok = await fetch(`${this.url}/readyz/node`, { headers: { authorization: `Bearer ${this.env.UCCX_LOOKUP_TOKEN ?? ''}` } }).then(
        async (r) => r.ok && ((await r.json()) as { store?: { ok?: boolean } }).store?.ok === true,
        () => false,
      );
      if (ok) return;
      if (Date.now() > end) throw new Error(`middleware node ${this.name} was not serving on ${this.url} within 30 s (its log: ${this.logFile})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** kill -9 of the node and everything it started; resolves once it is gone. */
  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p) await p.stop();
  }

  /** A graceful stop (SIGTERM: requests in flight finish, the outbox gets one more try). */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p) return;
    p.signal('SIGTERM');
    const timer = setTimeout(() => p.signal('SIGKILL'), 15_000);
    await p.exited;
    clearTimeout(timer);
  }
}
