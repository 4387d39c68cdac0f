import { Connector } from './connector';
import { ConfigError, loadSource, parseConfig } from './config';

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
  await connector.listen();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    connector.log.info({ signal }, 'shutting down');
    connector.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
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
