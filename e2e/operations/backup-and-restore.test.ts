import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_UCCX_TOKEN } from '../../scripts/lab/lab-stack';
import { openSqliteStore } from '../../middleware/store-sqlite';
import { uccxLookup } from '../../testing/lookup-client';
import { runMarker, type NodeProcess } from '../../testing/node-process';
import { outboxDepth, processSetup, ready, startMiddleware, until } from '../middleware-process';

const ROOT = join(__dirname, '../..');

/** An operator command (`npm run backup -- <folder>`, `npm run restore -- <folder>`) with the middleware's environment. */
function command(name: 'backup' | 'restore', folder: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, `scripts/${name}.ts`), folder], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...runMarker(), ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

/** The pending outbox jobs' keys in a store file, read as another process would (read-only). */
function pendingKeys(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT key FROM outbox WHERE state = 'pending' ORDER BY key`).all() as Array<{ key: string }>).map((r) => r.key);
  } finally {
    db.close();
  }
}

describe('back up and restore (docs/operations.md)', () => {
  const folders: string[] = [];
  const temp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    folders.push(d);
    return d;
  };
  let proc: NodeProcess | null = null;
  afterEach(async () => {
    await proc?.stop();
    proc = null;
    for (const d of folders.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a backup taken under load holds every job, the installation and the dedupe marks; restored into a new folder, nothing is lost', async () => {
    const setup = await processSetup('backup-');
    folders.push(setup.dataDir);
    const { emulator, env, port, url } = setup;
    try {
      // What a running site has beside its jobs: the installation and dedupe marks.
      const seed = await openSqliteStore(setup.dataDir);
      await seed.setKv('bitrix24.installation', { memberId: 'm-backup', applicationToken: 't-backup' });
      await seed.setKv('click.seen.externalCall.backup.1', 1);
      await seed.setKv('call.record.1021-1', { callId: 'externalCall.backup.2' });
      await seed.close();
      // Bitrix24 down: every new caller's lead waits in the outbox.
      emulator.switches.outage = 'error';
      proc = startMiddleware(env, port);
      await ready(url, proc);
      let n = 0;
      let loading = true;
      const load = (async () => {
        while (loading) await uccxLookup(url, { ani: `8999${String(1_000_000 + n++).slice(1)}`, token: LAB_UCCX_TOKEN });
      })();
      await until(async () => (await outboxDepth(url)) >= 20, 'twenty leads waiting');
      const before = pendingKeys(join(setup.dataDir, 'connector.db'));
      const folder = join(temp('backup-target-'), 'b1');
      const backup = await command('backup', folder, env);
      const during = n;
      await until(() => n > during + 5, 'lookups going on after the backup');
      loading = false;
      await load;
      expect(backup).toMatchObject({ code: 0, out: expect.stringMatching(/^backed up .* pending outbox jobs/) });
      const saved = pendingKeys(join(folder, 'connector.db'));
      expect(saved).toEqual(expect.arrayContaining(before));

      // Refused while the middleware runs on the folder; done once it stopped.
      const refused = await command('restore', folder, env);
      expect(refused).toEqual({ code: 1, out: expect.stringContaining(`not restored: a middleware (pid ${proc.pid}) runs on ${setup.dataDir}`) });
      proc.signal('SIGTERM');
      await proc.exited;
      proc = null;

      const fresh = temp('restored-');
      const restored = await command('restore', folder, { ...env, DATA_DIR: fresh });
      expect(restored.code).toBe(0);
      expect(pendingKeys(join(fresh, 'connector.db'))).toEqual(saved);
      const store = await openSqliteStore(fresh);
      expect(await store.getKv('bitrix24.installation')).toEqual({ memberId: 'm-backup', applicationToken: 't-backup' });
      expect(await store.getKv('click.seen.externalCall.backup.1')).toBe(1);
      expect(await store.getKv('call.record.1021-1')).toEqual({ callId: 'externalCall.backup.2' });
      await store.close();

      // The restored node sends what waited, once Bitrix24 is back: one lead per caller of the backup.
      emulator.switches.outage = 'none';
      proc = startMiddleware({ ...env, DATA_DIR: fresh }, port);
      await ready(url, proc);
      await until(async () => (await outboxDepth(url)) === 0, 'the restored outbox drained', 120_000);
      for (const key of saved.filter((k) => k.startsWith('lead:'))) expect(emulator.leadCount(key.slice('lead:'.length))).toBe(1);
    } finally {
      await emulator.stop();
    }
  });

  it('a backup into a folder that is not empty, or a restore of a folder that holds none, is refused with what to do', async () => {
    const setup = await processSetup('backup-refusals-');
    folders.push(setup.dataDir);
    try {
      await (await openSqliteStore(setup.dataDir)).close();
      expect((await command('backup', setup.dataDir, setup.env)).out).toContain('is not empty: back up into a new folder');
      const nothing = temp('nothing-');
      expect(await command('restore', nothing, setup.env)).toEqual({ code: 1, out: expect.stringContaining('holds no backup') });
      expect(await command('backup', '', setup.env)).toEqual({ code: 2, out: 'usage: backup <folder>   (a new, empty folder)\n' });
    } finally {
      await setup.emulator.stop();
    }
  });
});
