import { Connector } from '../middleware/connector';
import { ConfigError, loadSource, parseConfig } from '../middleware/config';

/**
 * The middleware's connector from its configuration, its store opened, or null once what is wrong is said (the
 * caller exits 2).
 */
export async function connectorOrExplain(adjust: (src: Record<string, string | undefined>) => Record<string, string | undefined> = (s) => s): Promise<Connector | null> {
  let connector: Connector;
  try {
    connector = new Connector(parseConfig(adjust(loadSource())));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return null;
  }
  try {
    await connector.prepare();
  } catch (err) {
    await connector.stop(0);
    throw err;
  }
  return connector;
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
