import { runDoctor } from './doctor/doctor';
import type { Context } from 'koa';
import { operatorRoutes } from './routes/operator-routes';
import { bodyParser } from '@koa/bodyparser';
import cors from '@koa/cors';
import Koa from 'koa';
import { noticeText } from './bitrix24/admin-notices';
import { appSetup } from './bitrix24/app-setup';
import { AppCredentials } from './bitrix24/credentials';
import { AuthError, NotInstalledError } from './bitrix24/errors';
import { PortalCheck } from './bitrix24/portal-check';
import type { ClickToDial } from './calls/click-to-dial';
import { healthChecks, storeCheck, type CheckedParts } from './health-checks';
import { HttpError, errorAnswers } from './http-errors';
import type { LookupService } from './lookup/lookup-service';
import { agentRoutes } from './routes/agent-routes';
import { appRoutes } from './routes/app-routes';
import { eventRoutes } from './routes/event-routes';
import { healthRoutes, type Check } from './routes/health-routes';
import { installNotReadyRoutes, installRoutes } from './routes/install-routes';
import { lookupRoutes } from './routes/lookup-routes';
import { statsRoutes } from './routes/stats-routes';
import { bearerToken, sameSecret } from './secrets';
import { Reports } from './stats/reports';
import type { LiveReader } from './stats/live-reader';
import { TtlCache } from './ttl-cache';

/** What the HTTP app serves: the node's parts, and what only the running server knows. */
export interface ServedParts extends CheckedParts {
  lookups: LookupService;
  clicks: ClickToDial;
  /** Whether the node takes requests now (listening, not stopping): what a balancer asks of /readyz/node. */
  serving: () => boolean;
  /** Our own address, for the event handler when PUBLIC_URL is not set. */
  url: () => string;
  /** Work that goes on after a request was answered (event handling), for `settled()`. */
  track: (work: Promise<unknown>) => void;
  /** The live queues (stats/live-reader.ts); null: none. */
  live: LiveReader | null;
}

/** Links to CRM records: the portal's base URL. */
function portalUrl(n: ServedParts): string | null {
  const b = n.core.config.bitrix24;
  if (b.mode === 'webhook') return new URL(b.webhookUrl).origin;
  return b.portalUrl ?? null;
}

/**
 * The Koa app: error answers, CORS for the Finesse origins only, input bounds, and the routes — UCCX's lookup, the
 * gadget's session, the statistics API and page, health; in application mode the install and the events.
 */
export function buildApp(n: ServedParts): Koa {
  const { core } = n;
  const { config, log } = core;
  const app = new Koa();
  // Behind N proxies the client is the address the Nth one appended (the rightmost N entries of X-Forwarded-For);
  // anything to their left the client wrote itself.
  app.proxy = config.proxyHops > 0;
  app.maxIpsCount = config.proxyHops;
  app.silent = true;
  // One line per request at debug (LOG_LEVEL=debug, or `PUT /api/log-level` / SIGUSR2 while it runs): the path
  // without its query (a token may ride there), the status and the time.
  app.use(async (ctx, next) => {
    const t0 = performance.now();
    try {
      await next();
    } finally {
      if (log.isLevelEnabled('debug')) log.debug({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - t0), ip: ctx.ip }, 'request');
    }
  });
  app.use(errorAnswers(log));
  // The gadget runs on the Finesse origin and calls /api/* directly: allow exactly the configured origins.
  const origins = new Set(config.finesseOrigins);
  const corsForFinesse = cors({
    origin: (ctx) => (origins.has(ctx.get('origin')) ? ctx.get('origin') : ''),
    allowMethods: ['GET', 'POST'],
    allowHeaders: ['Authorization', 'Content-Type'],
    maxAge: 600,
  });
  app.use(async (ctx, next) => (ctx.path.startsWith('/api/') ? corsForFinesse(ctx, next) : next()));
  app.use(async (ctx, next) => {
    if (ctx.querystring.length > 2048) throw new HttpError(414, 'query string longer than 2048 characters');
    await next();
  });
  app.use(
    bodyParser({
      enableTypes: ['form', 'json'],
      formLimit: '64kb',
      jsonLimit: '64kb',
      extendTypes: { form: ['application/x-www-form-urlencoded'] },
      onError: (err) => {
        const status = (err as Error & { status?: number }).status === 413 ? 413 : 400;
        throw new HttpError(status, `body: ${err.message}`);
      },
    }),
  );
  const reports = core.ccdr ? new Reports(n.statsRollup ?? core.ccdr, portalUrl(n)) : null;
  const { agentTokens } = core;
  /** Names of CRM records shown in the agents' gadgets: a few minutes, so a renamed record shows soon. */
  const recordNames = new TtlCache<string>(5 * 60_000, 10_000);
  const isOperator = (ctx: Context) => {
    const given = bearerToken(ctx);
    return Boolean(given && [config.uccxToken, config.stats.token].some((t) => t !== null && sameSecret(given, t)));
  };
  const routers = [
    operatorRoutes({ trace: core.trace, log, configuredLevel: config.logLevel, isOperator, lang: config.uiLanguage }),
    healthRoutes(healthChecks(n), core.metrics, isOperator, async (): Promise<Check> => {
      // What a balancer asks: can this node answer lookups? It can without the shared store (from the index or
      // Bitrix24, new callers' leads held until the store is back), so the store is reported here, not judged.
      if (!n.serving()) return { ok: false, reason: 'the node is stopping' };
      return { ok: true, store: await storeCheck(core) };
    }),
    lookupRoutes(n.lookups, {
      token: config.uccxToken,
      allowedIps: config.uccxAllowedIps,
      rules: config.phone,
      isAgentSession: (t) => agentTokens.verify(t) !== null,
      trace: (s) => core.trace.record(s),
    }),
    statsRoutes({ token: config.stats.token, timeZone: config.stats.timeZone, queryTimeoutMs: config.stats.queryTimeoutMs, reports, live: n.live }),
    appRoutes({
      portal: () => {
        const inst = core.credentials instanceof AppCredentials ? core.credentials.installation() : null;
        return inst ? { restBase: inst.clientEndpoint, memberId: inst.memberId, applicationToken: inst.applicationToken } : null;
      },
      allowed: config.stats.allowed,
      sessions: core.pageSessions,
      notices: async (lang) => (await core.notices.list()).map((x) => noticeText(x, lang)),
      reports,
      timeZone: config.stats.timeZone,
      queryTimeoutMs: config.stats.queryTimeoutMs,
      log,
      trace: (query) => core.trace.find(query),
      doctor: (lang) => runDoctor(core, lang),
      live: n.live,
    }),
    agentRoutes({
      finesse: n.finesse,
      trace: (step) => core.trace.record(step),
      popped: {
        list: async (agentId) => ((await core.store.getKv<Array<{ id: string; at: number }>>(`popped.${agentId}`)) ?? []).map((p) => p.id),
        // The last 50 per agent: a failover reloads the desktop within minutes, and a call pops once.
        add: (agentId, id) =>
          core.store.exclusive(`popped.${agentId}`, async () => {
            const key = `popped.${agentId}`;
            const kept = ((await core.store.getKv<Array<{ id: string; at: number }>>(key)) ?? []).filter((p) => p.id !== id);
            await core.store.setKv(key, [...kept, { id, at: Date.now() }].slice(-50));
          }),
      },
      tokens: agentTokens,
      channels: n.channels,
      journal: core.journal,
      internal: {
        has: (x) => n.internalNumbers.has(x),
        noteAgent: (ext) => n.internalNumbers.noteAgent(ext),
        refused: () => core.metrics.internalRefused.inc({ where: 'report' }),
      },
      log,
      lockoutThreshold: config.finesseLockoutThreshold,
      recordName: async (type, id) => {
        const key = `${type}:${id}`;
        const known = recordNames.get(key);
        if (known !== undefined) return known;
        const name = await core.directory.recordName(type, id, AbortSignal.timeout(config.requestTimeoutMs));
        recordNames.set(key, name);
        return name;
      },
    }),
  ];
  if (core.credentials instanceof AppCredentials && config.bitrix24.mode === 'app') {
    const creds = core.credentials;
    const b24 = { portalUrl: config.bitrix24.portalUrl, clientId: config.bitrix24.clientId };
    const check = new PortalCheck(`${b24.portalUrl}/rest/`, config.requestTimeoutMs, core.bucket, (answer) => core.metrics.tokenChecks.inc({ answer }), core.portalState);
    const keeper = n.keeper;
    routers.push(
      installRoutes(creds, b24, check, log, {
        publicUrl: () => config.publicUrl ?? n.url(),
        line: config.line.number,
        afterInstall: appSetup(core.client, { number: config.line.number, name: 'Cisco Finesse' }, { indexEvents: keeper ? config.phoneIndexEvents : null }),
      }),
      eventRoutes({
        installation: () => creds.installation(),
        clicks: n.clicks,
        uninstall: () => creds.forget(),
        log,
        track: n.track,
        crmChanged: keeper ? (type, id, deleted) => keeper.crmChanged(type, id, deleted) : null,
        learnApplicationToken: async (applicationToken, accessToken) => {
          const inst = creds.installation();
          if (!inst || !accessToken || !(await check.adminOfApp(accessToken, b24.clientId))) return false;
          await creds.save({ ...inst, applicationToken });
          return true;
        },
        tokenUser: (t, expiresAt) => check.tokenUser(t, expiresAt),
        proveBy: (t, expiresAt, deadline) => check.proveBy(t, expiresAt, deadline),
        proofWindowMs: config.dial.proofWindowMs,
        stillInstalled: () =>
          core.client.call('app.info').then(
            () => true,
            (err: unknown) => !(err instanceof AuthError || err instanceof NotInstalledError), // unsure: keep our tokens
          ),
      }),
    );
  } else routers.push(installNotReadyRoutes());
  for (const r of routers) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
