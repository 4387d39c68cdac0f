import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, signalGroup, stopGroup, waitForPort } from '../../../testing/process-group';

/**
 * A throwaway Prosody (Debian's) standing in for Finesse's notification service: a virtual host, a pubsub
 * component, BOSH and WebSocket on loopback, the lab agents and a publisher account.
 * Missing Prosody is an error, not a skip: `npm test` installs it.
 */
export function prosodyBinary(): string {
  const p = process.env.PROSODY_PATH ?? '/usr/bin/prosody';
  if (!existsSync(p)) throw new Error('Prosody is not installed: run `apt-get install -y prosody` (npm test does it) or set PROSODY_PATH');
  return p;
}

export const PUBLISHER = { username: 'finesse-notifier', password: 'lab-publisher' };

export class ProsodyServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'prosody-'));
  private child: ChildProcess | null = null;
  c2sPort = 0;
  httpPort = 0;

  constructor(
    readonly domain: string,
    private readonly users: Array<{ username: string; password: string }>,
  ) {}

  get pubsubDomain(): string {
    return `pubsub.${this.domain}`;
  }
  get websocketUrl(): string {
    return `ws://127.0.0.1:${this.httpPort}/xmpp-websocket`;
  }
  get boshUrl(): string {
    return `http://127.0.0.1:${this.httpPort}/http-bind`;
  }
  get c2sUrl(): string {
    return `xmpp://127.0.0.1:${this.c2sPort}`;
  }

  private config(): string {
    const d = this.dir;
    return `
pidfile = "${d}/prosody.pid"
data_path = "${d}/data"
run_as_root = true
interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
http_interfaces = { "127.0.0.1" }
c2s_ports = { ${this.c2sPort} }
http_ports = { ${this.httpPort} }
https_ports = { }
modules_enabled = { "roster", "saslauth", "disco", "ping", "bosh", "websocket", "http" }
modules_disabled = { "s2s", "offline" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
consider_bosh_secure = true
consider_websocket_secure = true
cross_domain_bosh = true
cross_domain_websocket = true
http_cors_override = { bosh = { enabled = true }, websocket = { enabled = true } }
authentication = "internal_plain"
storage = "internal"
admins = { "${PUBLISHER.username}@${this.domain}" }
certificates = "${d}/certs"
log = { warn = "${d}/prosody.log" }
VirtualHost "${this.domain}"
Component "${this.pubsubDomain}" "pubsub"
`;
  }

  async start(): Promise<void> {
    const binary = prosodyBinary();
    if (!this.c2sPort) {
      this.c2sPort = await freePort();
      this.httpPort = await freePort();
      mkdirSync(join(this.dir, 'data'), { recursive: true });
      mkdirSync(join(this.dir, 'certs'), { recursive: true });
      writeFileSync(join(this.dir, 'prosody.cfg.lua'), this.config());
      for (const u of [PUBLISHER, ...this.users]) {
        execFileSync(join(dirname(binary), 'prosodyctl'), ['--config', join(this.dir, 'prosody.cfg.lua'), 'register', u.username, this.domain, u.password], { stdio: 'ignore' });
      }
    }
    // A group of its own: stop() reaches anything it starts, and a test's Ctrl-C does not reach it twice.
    this.child = spawn(binary, ['--config', join(this.dir, 'prosody.cfg.lua'), '-F'], { stdio: 'ignore', detached: true });
    await waitForPort(this.httpPort, 10_000, 'Prosody');
    await waitForPort(this.c2sPort, 10_000, 'Prosody');
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing answers — a server that hangs. */
  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  private signal(sig: NodeJS.Signals): void {
    signalGroup(this.child, sig);
  }

  /** Kills the server at once (its BOSH and WebSocket sessions die with it); data and accounts stay. */
  async stop(): Promise<void> {
    const c = this.child;
    this.child = null;
    await stopGroup(c);
  }

  /** Stops the server and removes its folder (accounts, data, logs): nothing of it is left. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
