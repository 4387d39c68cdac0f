import { Connector } from '../middleware/connector';
import { ConfigError, loadSource, parseConfig } from '../middleware/config';

/** The middleware's connector from its configuration, or null once what is wrong is said (the caller exits 2). */
export function connectorOrExplain(adjust: (src: Record<string, string | undefined>) => Record<string, string | undefined> = (s) => s): Connector | null {
  try {
    return new Connector(parseConfig(adjust(loadSource())));
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
