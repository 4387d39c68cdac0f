import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, stopGroup } from './process-group';

/**
 * A throwaway PostgreSQL (Debian's packages) for the lab and the tests, as they run Prosody: its own data folder
 * in the temporary folder, loopback only, trust authentication, stopped with its whole process group. Missing
 * PostgreSQL is an error, not a skip: `npm test` installs it.
 */
export function postgresBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) throw new Error('PostgreSQL is not installed: run `apt-get install -y postgresql` (npm test does it) or set PG_BIN_DIR');
  return join(root, versions[0]!, 'bin');
}

/** PostgreSQL refuses to run as root: then it runs as Debian's `postgres` user. */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error("PostgreSQL cannot run as root and there is no 'postgres' user (Debian's postgresql package makes it)");
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export class PostgresServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'pg-'));
  private child: ChildProcess | null = null;
  port = 0;
  readonly database = 'fb24';
  readonly user = 'fb24';

  get url(): string {
    return `postgres://${this.user}@127.0.0.1:${this.port}/${this.database}`;
  }

  async start(): Promise<void> {
    const bin = postgresBinDir();
    const as = runAs();
    const data = join(this.dir, 'data');
    if (!this.port) {
      this.port = await freePort();
      if (as) chownSync(this.dir, as.uid, as.gid);
      execFileSync(join(bin, 'initdb'), ['-D', data, '-U', this.user, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
        stdio: 'ignore',
        ...(as ?? {}),
      });
    }
    // A group of its own: stop() reaches the server and all its backends.
    this.child = spawn(
      join(bin, 'postgres'),
      // fsync off: a test server's data need not survive a power cut (the product's own PostgreSQL keeps it on).
      ['-D', data, '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=100'],
      { stdio: 'ignore', detached: true, ...(as ?? {}) },
    );
    await this.waitReady(20_000);
    const admin = new pg.Client({ connectionString: `postgres://${this.user}@127.0.0.1:${this.port}/postgres` });
    await admin.connect();
    try {
      const known = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [this.database]);
      if (!known.rowCount) await admin.query(`CREATE DATABASE ${this.database}`);
    } finally {
      await admin.end();
    }
  }

  private async waitReady(ms: number): Promise<void> {
    const end = Date.now() + ms;
    let last: unknown;
    while (Date.now() < end) {
      const c = new pg.Client({ connectionString: `postgres://${this.user}@127.0.0.1:${this.port}/postgres`, connectionTimeoutMillis: 1000 });
      try {
        await c.connect();
        await c.end();
        return;
      } catch (err) {
        last = err;
        await c.end().catch(() => undefined);
      }
      if (this.child?.exitCode !== null) throw new Error(`PostgreSQL exited at start (code ${this.child?.exitCode})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`PostgreSQL did not accept connections in ${ms} ms: ${(last as Error)?.message}`);
  }

  /** Stops the server (fast shutdown, then a kill of the group if it lingers); `keep`: its data stays for a restart. */
  async stop(keep = false): Promise<void> {
    const child = this.child;
    this.child = null;
    await stopGroup(child, 'SIGINT'); // PostgreSQL's fast shutdown
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }
}
