import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bitrix24Emulator } from '../scripts/lab/bitrix24-emulator/server';
import { middlewareEnv } from '../scripts/lab/lab-stack';
import { NodeProcess } from '../testing/node-process';
import { freePort } from '../testing/process-group';
import { waitFor } from '../testing/wait';

// The middleware as its own process, against a Bitrix24 emulator: what the end-to-end suites that restart, kill or
// signal it share.

/** waitFor with the condition first: the bound defaults to a minute (processes start and stop here). */
export const until = (cond: () => boolean | Promise<boolean>, what: string, ms = 60_000) => waitFor(async () => (await cond()) || null, ms, what).then(() => undefined);

/** A Bitrix24 emulator and the settings of a middleware process against it (webhook mode, a data folder, a port). */
export async function processSetup(prefix: string, extra: Record<string, string> = {}) {
  const emulator = new Bitrix24Emulator();
  await emulator.start();
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const env = middlewareEnv(emulator, 'webhook', dataDir, extra);
  const port = await freePort();
  return { emulator, dataDir, env, port, url: `http://127.0.0.1:${port}` };
}

/** The middleware as its own process (`npm run middleware`), as in production: the test harness's load stays out of it. */
export function startMiddleware(env: Record<string, string>, port: number): NodeProcess {
  return new NodeProcess('middleware/main.ts', { ...env, PORT: String(port) });
}

/**
 * Resolves once the middleware at `url` answers /healthz; fails at once if its process exits first (a port taken,
 * a bad setting). The bound is a hang guard only: a process starting on a loaded machine takes long, never forever.
 */
export async function ready(url: string, proc: NodeProcess): Promise<void> {
  let exited = false;
  void proc.exited.then(() => (exited = true));
  await until(
    async () => {
      if (exited) throw new Error(`the middleware process exited before serving ${url}`);
      return (await fetch(`${url}/healthz`).catch(() => null))?.ok === true;
    },
    'middleware to start',
    90_000,
  );
}

/** Outbox depth as the middleware reports it on /metrics. */
export async function outboxDepth(url: string): Promise<number> {
  return Number(/^outbox_depth (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? NaN);
}
