import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, stopGroup, waitForPort } from '../../testing/process-group';

const TEMPLATE = join(__dirname, '../../deploy/haproxy.cfg');

export function haproxyBinary(): string {
  const p = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';
  if (!existsSync(p)) throw new Error('HAProxy is not installed: run `apt-get install -y haproxy` (npm test does it) or set HAPROXY_PATH');
  return p;
}

/** The documented HAProxy configuration (deploy/haproxy.cfg) with these addresses in its `bind` and `server` lines. */
export function haproxyConfig(listen: string, nodes: string[]): string {
  const text = readFileSync(TEMPLATE, 'utf8');
  const servers = nodes.map((n, i) => `    server node${i + 1} ${n} check`).join('\n');
  const out = text.replace(/^ {4}bind \S+$/m, `    bind ${listen}`).replace(/(^ {4}server node\d+ \S+ check\n?)+/m, `${servers}\n`);
  if (!out.includes(`bind ${listen}`) || !out.includes(servers)) throw new Error('deploy/haproxy.cfg no longer has the bind and server lines the lab fills in');
  return out;
}

/**
 * A throwaway HAProxy (Debian's) in front of the lab's or a test's middleware nodes, running the configuration the
 * docs/high-availability.md gives an integrator. Missing HAProxy is an error, not a skip: `npm test` installs it.
 */
export class HaproxyServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
  private child: ChildProcess | null = null;
  port = 0;

  constructor(private readonly nodes: string[]) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    const binary = haproxyBinary();
    this.port = port || (await freePort());
    const cfg = join(this.dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(`127.0.0.1:${this.port}`, this.nodes));
    // -db: in the foreground, no daemon; a group of its own so stop() reaches it.
    const child = spawn(binary, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    this.child = child;
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    await waitForPort(this.port, 10_000, 'HAProxy', () => (child.exitCode !== null ? `HAProxy exited at start: ${err.trim().slice(0, 500)}` : null));
  }

  /** Resolves once the balancer passes requests to a node (its health checks run every second). */
  async serving(ms = 15_000): Promise<void> {
    const end = Date.now() + ms;
    while (
      !(await fetch(`${this.url}/readyz/node`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > end) throw new Error(`HAProxy found no ready node within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    await stopGroup(child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
