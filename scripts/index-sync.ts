import { coreOrExplain, runCli } from './cli';
import { IndexKeeper } from '../middleware/lookup/index-keeper';
import type { SyncProgress } from '../middleware/lookup/index-sync';

/**
 * `npm run index-sync`: reads the CRM's phone numbers into the local index now, with a progress bar — the first
 * read of a big portal, or a rebuild. Same configuration as the middleware (the index is in DATA_DIR); safe to run
 * while the middleware runs, and to interrupt: the next run (or the middleware's own) resumes where it stopped.
 * Exit code 0 when the index is complete, 1 when the read stopped (it resumes next time), 2 without configuration.
 */
function bar(p: SyncProgress): string {
  const width = 30;
  const filled = p.of ? Math.min(width, Math.round((p.done / p.of) * width)) : width;
  const what = p.kind === 'USER' ? `users ${p.done}` : `${p.kind.toLowerCase()}s: IDs ${p.done}/${p.of}, ${p.records} records`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${what}, ${p.requests} requests`.padEnd(100);
}

async function main(): Promise<number> {
  // The index is read here even where the middleware keeps none yet (PHONE_INDEX_SYNC_S=0): it is ready for it.
  const core = await coreOrExplain((src) => ({ ...src, PHONE_INDEX_SYNC_S: src.PHONE_INDEX_SYNC_S && src.PHONE_INDEX_SYNC_S !== '0' ? src.PHONE_INDEX_SYNC_S : '86400' }));
  if (!core) return 2;
  const keeper = new IndexKeeper(core);
  try {
    const sync = keeper.sync;
    const t0 = Date.now();
    const st = await sync.run((p) => process.stderr.write(`\r${bar(p)}`));
    const seconds = (Date.now() - t0) / 1000;
    process.stderr.write(`\nphone index complete: ${st.records} records, ${st.numbers} numbers, ${st.users} users; ${sync.requests} requests in ${seconds.toFixed(1)} s\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`\nthe read stopped: ${(err as Error).message}; run it again (or let the middleware) and it resumes where it stopped\n`);
    return 1;
  } finally {
    keeper.close();
    await core.close(1000);
  }
}

runCli('index-sync', main);
