import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { parseConfig } from '../../middleware/config';
import { Connector } from '../../middleware/connector';
import { Bitrix24Emulator, type EmulatorOptions } from './bitrix24-emulator/server';
import { FinesseEmulator } from './finesse/finesse-emulator';
import { ProsodyServer, prosodyBinary } from './finesse/prosody';
import { PubsubPublisher } from './finesse/pubsub-publisher';
import { freePort } from '../../testing/process-group';
import { HaproxyServer, haproxyBinary } from './haproxy';
import { MiddlewareNode } from './middleware-node';
import { PostgresServer, postgresBinDir } from '../../testing/postgres-server';

export const FINESSE_XMPP_DOMAIN = 'finesse.lab';

/** The Bitrix24 emulator and a middleware configured against it, as the lab, the tests and the benchmarks use them. */
export interface StackOptions {
  mode?: 'app' | 'webhook';
  env?: Record<string, string>;
  emulator?: EmulatorOptions;
  dataDir?: string;
  port?: number;
  emulatorPort?: number;
  logDestination?: DestinationStream;
  /** Also run the Finesse side (desktop + gadget built into this folder). */
  /** `twoSides`: Finesse side A and side B of a UCCX HA pair (A in service), each with its notification service. */
  finesse?: { gadgetDir: string; port?: number; xmpp?: 'required' | 'if-installed'; twoSides?: boolean; portB?: number };
  /**
   * A middleware pair: the store on a throwaway PostgreSQL, HAProxy (deploy/haproxy.cfg) in front of this node and a
   * second one (its own process, started and killed from the lab page); UCCX, Bitrix24 and the gadgets go through
   * the balancer. 'if-installed': without PostgreSQL or HAProxy the lab runs one node on SQLite and says why.
   */
  pair?: { need: 'required' | 'if-installed'; secondPort?: number; balancerPort?: number };
}

/** The lab's middleware pair: the shared store, the balancer, and the second node. */
export interface Pair {
  postgres: PostgresServer;
  balancer: HaproxyServer;
  second: MiddlewareNode;
}

export interface Stack {
  emulator: Bitrix24Emulator;
  connector: Connector;
  finesse: FinesseEmulator | null;
  /** The middleware pair, when the lab runs one (then `url` is the balancer's). */
  pair: Pair | null;
  /** Why the lab runs one node although a pair was asked for ('' when it runs a pair or none was asked). */
  pairMissing: string;
  url: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export const LAB_UCCX_TOKEN = 'lab-uccx-token';
export const LAB_STATS_TOKEN = 'lab-stats-token';

export function middlewareEnv(emulator: Bitrix24Emulator, mode: 'app' | 'webhook', dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  const bitrix: Record<string, string> =
    mode === 'webhook'
      ? { B24_WEBHOOK_URL: emulator.webhookUrl }
      : { B24_CLIENT_ID: emulator.app.clientId, B24_CLIENT_SECRET: emulator.app.clientSecret, B24_PORTAL_URL: emulator.url, B24_OAUTH_URL: `${emulator.url}/oauth/token/` };
  return { ...bitrix, B24_UNPROCESSED_USER_ID: '9', DATA_DIR: dataDir, UCCX_LOOKUP_TOKEN: LAB_UCCX_TOKEN, HOST: '127.0.0.1', LOG_LEVEL: process.env.LAB_LOG_LEVEL ?? 'warn', ...extra };
}

/** Prosody + the publisher, as Finesse's notification service; 'if-installed' lets the lab run on the hub relay alone. */
async function startNotificationService(finesse: FinesseEmulator, need: 'required' | 'if-installed') {
  try {
    prosodyBinary();
  } catch (err) {
    if (need === 'required') throw err;
    process.stderr.write(`${(err as Error).message}\nThe lab desktop still relays notifications over its hub; the standalone page needs Prosody.\n`);
    return null;
  }
  const server = new ProsodyServer(
    FINESSE_XMPP_DOMAIN,
    finesse.agents.map((a) => ({ username: a.id, password: a.password })),
  );
  await server.start();
  const publisher = new PubsubPublisher(server);
  await publisher.start(finesse.agents.map((a) => a.id));
  return { server, publisher };
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const mode = opts.mode ?? 'app';
  const emulator = new Bitrix24Emulator(opts.emulator);
  await emulator.start(opts.emulatorPort ?? 0);
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'fb24-'));
  let finesse: FinesseEmulator | null = null;
  const extra: Record<string, string> = {};
  if (opts.finesse) {
    finesse = new FinesseEmulator(opts.finesse.gadgetDir);
    await finesse.start(opts.finesse.port ?? 0);
    if (opts.finesse.xmpp) finesse.xmpp = await startNotificationService(finesse, opts.finesse.xmpp);
    if (opts.finesse.twoSides) await finesse.startSideB(opts.finesse.portB ?? 0);
    // The desktop's gadget iframe, and pages hosted on Finesse (either side).
    const b = finesse.twoSides ? [finesse.urlB, finesse.urlB.replace('127.0.0.1', 'localhost')] : [];
    extra.FINESSE_ORIGINS = [finesse.gadgetOrigin, finesse.url, ...b].join(',');
    extra.FINESSE_URL = finesse.twoSides ? `${finesse.url},${finesse.urlB}` : finesse.url;
  }
  let pair: Pair | null = null;
  let pairMissing = '';
  if (opts.pair) {
    try {
      postgresBinDir();
      haproxyBinary();
    } catch (err) {
      if (opts.pair.need === 'required') throw err;
      pairMissing = (err as Error).message;
    }
  }
  let pairPorts: { first: number; second: number; balancer: number } | null = null;
  let secondDir: string | null = null;
  if (opts.pair && !pairMissing) {
    const postgres = new PostgresServer();
    await postgres.start();
    pairPorts = { first: opts.port || (await freePort()), second: opts.pair.secondPort || (await freePort()), balancer: opts.pair.balancerPort || (await freePort()) };
    const balancer = new HaproxyServer([`127.0.0.1:${pairPorts.first}`, `127.0.0.1:${pairPorts.second}`]);
    extra.DATABASE_URL = postgres.url;
    extra.PUBLIC_URL = `http://127.0.0.1:${pairPorts.balancer}`;
    pair = { postgres, balancer, second: null as unknown as MiddlewareNode };
  }
  const env = middlewareEnv(emulator, mode, dataDir, { ...extra, ...opts.env });
  const connector = new Connector(parseConfig(env), opts.logDestination);
  await connector.listen(pairPorts?.first ?? opts.port ?? 0, '127.0.0.1');
  if (pair && pairPorts) {
    secondDir = mkdtempSync(join(tmpdir(), 'fb24-node2-'));
    pair.second = new MiddlewareNode('node 2', pairPorts.second, { ...env, DATA_DIR: secondDir });
    await pair.balancer.start(pairPorts.balancer);
    await pair.balancer.serving();
  }
  const url = pair ? pair.balancer.url : connector.url;
  emulator.appHandler = `${url}/bitrix/app`;
  if (mode === 'app') {
    const res = await emulator.installInto(`${url}/bitrix/install`);
    if (!res.ok) throw new Error(`lab install failed: ${res.status} ${await res.text()}`);
  }
  if (finesse) finesse.config = { middlewareUrl: url, crmUrl: emulator.url };
  return {
    emulator,
    connector,
    finesse,
    pair,
    pairMissing,
    url,
    env,
    async stop() {
      await finesse?.stop();
      if (pair) {
        await pair.second.kill();
        await pair.balancer.stop();
      }
      await connector.stop(500);
      await pair?.postgres.stop();
      if (secondDir) rmSync(secondDir, { recursive: true, force: true });
      await emulator.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true }); // a folder of its own: nothing left behind
    },
  };
}
