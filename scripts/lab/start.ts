import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import moment from 'moment-timezone';
import { buildGadget } from '../../gadget/build';
import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';
import { fillStandIn } from './ccdr-generator';
import { runMiddleware } from '../../middleware/main';
import { STANDALONE_AGENTS, startLabServer } from './lab-server';
import { LAB_STATS_TOKEN, startStack } from './lab-stack';
import { emptyDay, UccxRealtimeWriter } from './uccx-realtime-writer';

/**
 * `npm start`. With a Bitrix24 connection configured it runs the middleware against the real systems; with none,
 * the whole lab: the Bitrix24 emulator, the middleware installed into it as a local application, and the lab page
 * with the UCCX call simulator.
 */
async function main(): Promise<void> {
  if (process.env.B24_WEBHOOK_URL || process.env.B24_CLIENT_ID || process.env.CONFIG_FILE) {
    await runMiddleware();
    return;
  }
  const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  const dataDir = join(__dirname, '../../.lab-data/middleware');
  rmSync(dataDir, { recursive: true, force: true }); // the emulator starts fresh, so does the store
  process.env.LAB_LOG_LEVEL ??= 'info';
  const gadget = await buildGadget(join(__dirname, '../../.lab-data/gadget'));
  // UCCX's call records for the statistics: the last 30 days, generated, in the lab's db_cra stand-in.
  const ccdrPath = join(__dirname, '../../.lab-data/db_cra.sqlite');
  rmSync(ccdrPath, { force: true });
  const ccdr = new SqliteCcdrSource(ccdrPath, { writable: true });
  const zone = process.env.PORTAL_TIMEZONE ?? 'Europe/Moscow';
  fillStandIn(ccdr.db, { from: moment.tz(zone).subtract(30, 'days').format('YYYY-MM-DD'), days: 30, timeZone: zone, callsPerDay: 250 });
  // UCCX has written its real-time snapshot before the middleware's first read (the lab page's writer takes over).
  new UccxRealtimeWriter(ccdr.db, { csqs: () => ['Sales', 'Support'].map((name) => ({ name, waitingSince: [], day: emptyDay() })), agents: () => [] }, 0).write();
  await ccdr.close();
  const stack = await startStack({
    mode: 'app',
    dataDir,
    port: port('PORT', 8080),
    emulatorPort: port('LAB_B24_PORT', 8091),
    finesse: { gadgetDir: gadget.outDir, port: port('LAB_FINESSE_PORT', 8092), xmpp: 'if-installed', twoSides: true, portB: port('LAB_FINESSE_B_PORT', 8093) },
    // Two middleware nodes on a throwaway PostgreSQL behind HAProxy, when both are installed (npm test installs them).
    pair: { need: 'if-installed', secondPort: port('LAB_NODE2_PORT', 8081), balancerPort: port('LAB_BALANCER_PORT', 8088) },
    env: { PHONE_INDEX_SYNC_S: '600', CCDR_SQLITE_PATH: ccdrPath, STATS_API_TOKEN: LAB_STATS_TOKEN, STATS_ALLOWED_DEPARTMENTS: '2', STATS_ALLOWED_USERS: '1', PORTAL_TIMEZONE: zone },
  });
  const lab = await startLabServer(stack, port('LAB_PORT', 8090));
  // The commands (trace, doctor, backup…) read the lab's middleware configuration from here, as CONFIG_FILE.
  const labConfig = join(__dirname, '../../.lab-data/lab-config.json');
  writeFileSync(labConfig, `${JSON.stringify({ ...stack.env, LOG_LEVEL: 'warn' }, null, 2)}\n`);
  process.stdout.write(
    [
      '',
      'finesse-bitrix24 lab is running / лаборатория запущена:',
      `  lab page / страница лаборатории:   ${lab.url}/`,
      ...(stack.pair
        ? [
            `  middleware pair (the product):     ${stack.url}   (HAProxy → node 1 ${stack.connector.url}, node 2 ${stack.pair.second.url}: start/kill it on the lab page)`,
            `  shared store:                      PostgreSQL ${stack.pair.postgres.url}`,
          ]
        : [`  middleware (the product):          ${stack.url}   (/readyz, /metrics, /uccx/lookup)${stack.pairMissing ? `; one node: ${stack.pairMissing}` : ''}`]),
      `  Bitrix24 portal emulator:          ${stack.emulator.url}/`,
      `  Finesse desktop, agent 1001:       ${stack.finesse!.desktopUrl('1001')}   (side B: ${stack.finesse!.urlB}; the lab page fails them over)`,
      ...(stack.finesse!.xmpp ? STANDALONE_AGENTS.map(([agent, tr]) => `  standalone gadget, agent ${agent} over ${tr}: ${stack.finesse!.standaloneUrl(agent, tr)}`) : []),
      `  statistics in Bitrix24 (manager):  ${stack.emulator.url}/lab/app?user=2   (live queues on top: untick all agents on the lab page, make a call, it waits)`,
      `  click-to-dial (open the desktop first, then click the number): ${stack.emulator.url}/crm/contact/details/42/?user=5`,
      `  calls logged for Ivan Petrov:      ${stack.emulator.url}/lab/calls?user=5`,
      `  try / попробуйте: curl '${stack.url}/uccx/lookup?ani=89123456789&token=${stack.env.UCCX_LOOKUP_TOKEN}'`,
      `                    curl -H 'Authorization: Bearer ${LAB_STATS_TOKEN}' '${stack.url}/api/stats/csq?from=${moment.tz(zone).subtract(7, 'days').format('YYYY-MM-DD')}&to=${moment.tz(zone).format('YYYY-MM-DD')}'`,
      `  live queues for a wallboard:       curl -H 'Authorization: Bearer ${LAB_STATS_TOKEN}' '${stack.url}/api/stats/live'`,
      `  follow a call / путь звонка:       CONFIG_FILE=.lab-data/lab-config.json npm run trace -- 89123456789   (after a call from the lab page)`,
      `  check every connection / проверка:  CONFIG_FILE=.lab-data/lab-config.json npm run doctor`,
      'Ctrl+C stops it / Ctrl+C — остановить.',
      '',
    ].join('\n'),
  );
  const stop = async () => {
    lab.server.close();
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: Error) => {
  process.stderr.write(`lab failed to start: ${err.message}\n`);
  process.exit(1);
});
