import { ConfigError, loadSource, parseConfig } from '../middleware/config';
import type { CcdrSource } from '../middleware/stats/ccdr-source';
import { openCcdrSource } from '../middleware/stats/open-source';
import { OdbcCcdrSource } from '../middleware/stats/odbc-source';
import { nodeName } from '../middleware/stats/failover-source';
import { checkStatements } from '../middleware/stats/statement-check';

/**
 * `npm run ccdr-check` — for the integrator's first minutes at a customer: with the production configuration it
 * connects to the call records (CCDR_ODBC_CONNECTION to UCCX's db_cra, or CCDR_SQLITE_PATH), runs every statement
 * the middleware sends over a tiny range (yesterday in PORTAL_TIMEZONE), and prints per statement "ok" with its row
 * count, or the database's own error — so it is plain at once what works. Read-only; touches nothing else.
 * Exit code: 0 all ok, 1 a statement failed, 2 no (usable) configuration.
 */
async function main(): Promise<number> {
  let config;
  try {
    config = parseConfig(loadSource());
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const src = config.stats.source;
  if (!src) {
    process.stderr.write('no call records configured: set CCDR_ODBC_CONNECTION (UCCX db_cra) or CCDR_SQLITE_PATH\n');
    return 2;
  }
  process.stdout.write(
    `time zone ${config.stats.timeZone}; locale: DB_LOCALE=${process.env.DB_LOCALE ?? '(unset)'} CLIENT_LOCALE=${process.env.CLIENT_LOCALE ?? '(unset)'} (Informix needs en_US.UTF8 for Cyrillic names)\n`,
  );
  // Each node of an HA pair on its own: the middleware moves to the second when the first fails, so both must work.
  const targets: Array<{ where: string; source: CcdrSource }> =
    src.kind === 'sqlite'
      ? [{ where: `SQLite ${src.path}`, source: openCcdrSource(src, config.stats.queryTimeoutMs) }]
      : src.connections.map((c, i) => ({ where: `ODBC node ${i + 1} of ${src.connections.length} (${nodeName(c, i)})`, source: new OdbcCcdrSource(c, config.stats.queryTimeoutMs) }));
  let failed = 0;
  let total = 0;
  for (const { where, source } of targets) {
    process.stdout.write(`call records: ${where}; dialect ${source.dialect.name}\n`);
    const lines = await checkStatements(source, config.stats.timeZone);
    for (const l of lines) process.stdout.write(`${l.ok ? 'ok  ' : 'FAIL'}  ${l.statement}${l.ok ? `: ${l.rows} rows` : `: ${l.detail}`}\n`);
    if (source instanceof OdbcCcdrSource && source.dialect.name === 'informix') {
      process.stdout.write(
        `session: ${source.isolation ?? '(no connection was made)'}; lock mode wait ${Math.min(10, Math.ceil(config.stats.queryTimeoutMs / 1000))} s; query timeout ${Math.ceil(config.stats.queryTimeoutMs / 1000)} s\n`,
      );
    }
    await source.close();
    failed += lines.filter((l) => !l.ok).length;
    total += lines.length;
  }
  process.stdout.write(failed ? `${failed} of ${total} failed\n` : `all ${total} work\n`);
  return failed ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
}
