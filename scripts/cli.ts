import { Core } from '../middleware/core';
import { ConfigError, loadSource, parseConfig, type Config } from '../middleware/config';

/**
 * The middleware's core (store, clients, outbox — no HTTP) from its configuration, its store opened, or null once
 * what is wrong is said (the caller exits 2).
 */
export async function coreOrExplain(adjust: (src: Record<string, string | undefined>) => Record<string, string | undefined> = (s) => s): Promise<Core | null> {
  let core: Core;
  try {
    core = new Core(parseConfig(adjust(loadSource())));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return null;
  }
  try {
    await core.prepare();
  } catch (err) {
    await core.close(0);
    throw err;
  }
  return core;
}

/** The middleware's configuration, or null once what is wrong is said (the caller exits 2): commands without a core. */
export function configOrExplain(): Config | null {
  try {
    return parseConfig(loadSource());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return null;
  }
}

/** Runs a command's main and exits with its code; an unexpected error is one line and exit code 1. */
export function runCli(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`${name} failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
