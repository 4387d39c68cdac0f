import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connector } from './connector';
import { ConfigError, loadSource, parseConfig } from './config';
import { PID_FILE } from './store-backup';
import { StoreTooNewError } from './store-migrations';

/** `npm run middleware`: the middleware alone, configured from the environment (production mode, no lab). */
export async function runMiddleware(): Promise<Connector> {
  let connector: Connector;
  try {
    connector = new Connector(parseConfig(loadSource()));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee docs/configuration.md "Configuration".\n`);
      process.exit(2);
    }
    throw err;
  }
  try {
    await connector.listen();
  } catch (err) {
    if (err instanceof StoreTooNewError) {
      // Like a configuration error: exit 2, which the service unit does not restart.
      process.stderr.write(`${err.message}\n`);
      await connector.stop(0).catch(() => undefined);
      process.exit(2);
    }
    throw err;
  }
  // Who runs on DATA_DIR, for `restore` (which refuses while a middleware runs on it).
  const pidFile = join(connector.config.dataDir, PID_FILE);
  writeFileSync(pidFile, `${process.pid}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    connector.log.info({ signal }, 'shutting down');
    connector.stop().then(
      () => {
        rmSync(pidFile, { force: true });
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  // SIGUSR2: debug now, and back to the configured level on the next one (SIGUSR1 is node's debugger).
  process.on('SIGUSR2', () => {
    const to = connector.log.level === 'debug' ? connector.config.logLevel : 'debug';
    connector.log.level = to;
    connector.log.warn({ to }, 'log level changed (SIGUSR2)');
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return connector;
}

if (require.main === module) {
  runMiddleware().catch((err: Error) => {
    process.stderr.write(`middleware failed to start: ${err.message}\n`);
    process.exit(1);
  });
}
