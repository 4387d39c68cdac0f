import { ANALYTICS_PLACEMENT } from '../bitrix24/app-setup';
import tls from 'node:tls';
import { AppCredentials } from '../bitrix24/credentials';
import type { Core } from '../core';
import { systemInfoStatus } from '../finesse/finesse-sides';
import { FailoverCcdrSource } from '../stats/failover-source';
import { checkStatements } from '../stats/statement-check';
import { LiveReader } from '../stats/live-reader';
import { openLiveNodes } from '../stats/open-source';
import { DOCTOR_TEXT, type DoctorLang } from './doctor-text';

/**
 * `npm run doctor`: every connection the product needs, checked before the first call, each with ok / what is wrong
 * / what to do — the store, Bitrix24 (reachable, installed, scopes, events bound here, our line and the default
 * outgoing line, the unprocessed user, agents' extensions, its clock), Finesse (each side's SystemInfo, the gadget's
 * files), the UCCX call records (every statement), the public address's certificate. Read-only.
 */
export type DoctorStatus = 'ok' | 'warn' | 'fail' | 'off';

export interface DoctorLine {
  area: 'store' | 'bitrix24' | 'finesse' | 'uccx' | 'public url';
  check: string;
  status: DoctorStatus;
  /** What was found (an answer, an error in the system's own words). */
  detail: string;
  /** What to do about a warn or a fail. */
  fix: string;
}

/** The scopes the product calls methods of (crm, telephony, user, im; placement for the statistics page). */
export const NEEDED_SCOPES = ['crm', 'telephony', 'user', 'im', 'placement'] as const;
/** A clock this far off Bitrix24's makes call times wrong in the CRM and the reports. */
const CLOCK_SKEW_S = 60;
/** A certificate that ends sooner than this is worth a warning now. */
const CERT_WARN_DAYS = 21;
const TIMEOUT_MS = 5000;

type Check = Omit<DoctorLine, 'area'>;
const msg = (err: unknown) => (err as Error).message.split('\n')[0]!.slice(0, 300);

export async function runDoctor(core: Core, lang: DoctorLang = core.config.uiLanguage): Promise<DoctorLine[]> {
  const t = DOCTOR_TEXT[lang];
  const lines: DoctorLine[] = [];
  const add = (area: DoctorLine['area'], c: Check) => lines.push({ area, ...c });
  const { config, client, directory } = core;
  const ask = <T>(method: string, params: Record<string, unknown> = {}) => client.call<T>(method, params, { signal: AbortSignal.timeout(TIMEOUT_MS) });

  // The store: everything else keeps its state there.
  try {
    await core.prepare();
    add('store', { check: t.store, status: 'ok', detail: JSON.stringify(core.store.db.describe()), fix: '' });
  } catch (err) {
    add('store', { check: t.store, status: 'fail', detail: msg(err), fix: t.storeFix });
  }

  // Bitrix24.
  const installed = !(core.credentials instanceof AppCredentials) || core.credentials.installation() !== null;
  if (core.credentials instanceof AppCredentials) {
    add(
      'bitrix24',
      installed ? { check: t.installed, status: 'ok', detail: core.credentials.installation()!.domain, fix: '' } : { check: t.installed, status: 'fail', detail: t.notInstalled, fix: t.installFix },
    );
    if (installed) {
      const known = Boolean(core.credentials.installation()!.applicationToken);
      add('bitrix24', known ? { check: t.appToken, status: 'ok', detail: '', fix: '' } : { check: t.appToken, status: 'fail', detail: t.noAppToken, fix: t.appTokenFix });
    }
  }
  let reachable = false;
  if (installed) {
    try {
      const serverTime = await directory.serverTime(AbortSignal.timeout(TIMEOUT_MS));
      reachable = true;
      add('bitrix24', { check: t.reachable, status: 'ok', detail: `server.time ${serverTime}`, fix: '' });
      const skew = Math.round((Date.now() - Date.parse(serverTime)) / 1000);
      add(
        'bitrix24',
        Math.abs(skew) <= CLOCK_SKEW_S || !Number.isFinite(skew)
          ? { check: t.clock, status: 'ok', detail: `${skew} s`, fix: '' }
          : { check: t.clock, status: 'warn', detail: `${skew} s`, fix: t.clockFix },
      );
    } catch (err) {
      add('bitrix24', { check: t.reachable, status: 'fail', detail: msg(err), fix: t.reachableFix });
    }
  }
  if (reachable) {
    const each = async (check: string, run: () => Promise<Check | null>) => {
      try {
        const c = await run();
        if (c) add('bitrix24', c);
      } catch (err) {
        add('bitrix24', { check, status: 'fail', detail: msg(err), fix: t.methodFix });
      }
    };
    if (core.credentials.mode === 'app') {
      await each(t.scopes, async () => {
        const have = await ask<string[]>('scope');
        const missing = NEEDED_SCOPES.filter((s) => !have.includes(s));
        return missing.length
          ? { check: t.scopes, status: 'fail', detail: `${t.missing}: ${missing.join(', ')}`, fix: t.scopesFix }
          : { check: t.scopes, status: 'ok', detail: have.join(', '), fix: '' };
      });
      await each(t.events, async () => {
        const bound = await ask<Array<{ event: string; handler: string }>>('event.get');
        const ours = bound.filter((b) => b.event.toUpperCase() === 'ONEXTERNALCALLSTART').map((b) => b.handler);
        const expected = config.publicUrl ? `${config.publicUrl}/bitrix/events` : null;
        if (!ours.length) return { check: t.events, status: 'fail', detail: t.notBound, fix: t.reinstallFix };
        if (expected && !ours.includes(expected)) return { check: t.events, status: 'fail', detail: `${ours.join(', ')} ≠ ${expected}`, fix: t.reinstallFix };
        return { check: t.events, status: expected ? 'ok' : 'warn', detail: ours.join(', '), fix: expected ? '' : t.publicUrlFix };
      });
      await each(t.placement, async () => {
        const bound = await ask<Array<{ placement?: string; handler?: string }>>('placement.get');
        const ours = bound.filter((b) => b.placement === ANALYTICS_PLACEMENT).map((b) => String(b.handler));
        const expected = config.publicUrl ? `${config.publicUrl}/bitrix/app` : null;
        if (!ours.length) return { check: t.placement, status: 'warn', detail: t.notBound, fix: t.reinstallFix };
        if (expected && !ours.includes(expected)) return { check: t.placement, status: 'warn', detail: `${ours.join(', ')} ≠ ${expected}`, fix: t.reinstallFix };
        return { check: t.placement, status: 'ok', detail: ours.join(', '), fix: '' };
      });
      await each(t.line, async () => {
        const lines = await ask<Array<{ NUMBER?: string }> | Record<string, unknown>>('telephony.externalLine.get');
        const numbers = (Array.isArray(lines) ? lines : Object.values(lines)).map((l) => String((l as { NUMBER?: unknown }).NUMBER ?? ''));
        if (!numbers.includes(config.line.number)) return { check: t.line, status: 'fail', detail: `${config.line.number} ∉ [${numbers.join(', ')}]`, fix: t.reinstallFix };
        const outgoing = String(await ask<unknown>('voximplant.line.outgoing.get'));
        const ours = outgoing.startsWith('REST_APP:') && outgoing.endsWith(`:${config.line.number}`);
        return ours ? { check: t.line, status: 'ok', detail: outgoing, fix: '' } : { check: t.line, status: 'warn', detail: `${t.defaultLine}: ${outgoing}`, fix: t.defaultLineFix };
      });
    }
    await each(t.unprocessed, async () => {
      const u = await directory.getUser(config.unprocessedUserId, AbortSignal.timeout(TIMEOUT_MS));
      if (!u) return { check: t.unprocessed, status: 'fail', detail: `#${config.unprocessedUserId}: ${t.noSuchUser}`, fix: t.unprocessedFix };
      return u.active ? { check: t.unprocessed, status: 'ok', detail: `#${u.id}`, fix: '' } : { check: t.unprocessed, status: 'fail', detail: `#${u.id}: ${t.inactive}`, fix: t.unprocessedFix };
    });
    await each(t.agents, async () => {
      const numbers = await directory.internalNumbers(AbortSignal.timeout(30_000));
      const configured = Object.keys(config.agentExtensions).length;
      return numbers.length || configured
        ? { check: t.agents, status: 'ok', detail: `UF_PHONE_INNER: ${numbers.length}; AGENT_EXTENSIONS: ${configured}`, fix: '' }
        : { check: t.agents, status: 'warn', detail: t.noExtensions, fix: t.agentsFix };
    });
  }

  // Finesse: each side, and the gadget's files where the layout points.
  if (!config.finesseUrls.length) add('finesse', { check: t.finesse, status: 'off', detail: t.finesseOff, fix: t.finesseOffFix });
  for (const [i, url] of config.finesseUrls.entries()) {
    const side = `${t.side} ${i === 0 ? 'A' : 'B'} (${url})`;
    try {
      const res = await fetch(`${url}/finesse/api/SystemInfo`, { headers: { accept: 'application/xml' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
      const body = await res.text();
      if (res.status === 401) add('finesse', { check: side, status: 'ok', detail: t.needsSignIn, fix: '' });
      else {
        const state = res.ok ? await systemInfoStatus(body) : res.status === 503 ? 'OUT_OF_SERVICE' : `HTTP ${res.status}`;
        add('finesse', state === 'IN_SERVICE' ? { check: side, status: 'ok', detail: state, fix: '' } : { check: side, status: i === 0 ? 'fail' : 'warn', detail: String(state), fix: t.finesseFix });
      }
    } catch (err) {
      add('finesse', { check: side, status: 'fail', detail: msg(err), fix: t.finesseFix });
      continue;
    }
    try {
      const res = await fetch(`${url}/3rdpartygadget/files/fb24/FinesseBitrix24.xml`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.arrayBuffer();
      add(
        'finesse',
        res.ok
          ? { check: `${t.gadget} (${side})`, status: 'ok', detail: `HTTP ${res.status}`, fix: '' }
          : { check: `${t.gadget} (${side})`, status: 'fail', detail: `HTTP ${res.status}`, fix: t.gadgetFix },
      );
    } catch (err) {
      add('finesse', { check: `${t.gadget} (${side})`, status: 'fail', detail: msg(err), fix: t.gadgetFix });
    }
  }

  // The UCCX call records: every statement the middleware sends, on each node.
  if (!core.ccdr) add('uccx', { check: t.ccdr, status: 'off', detail: t.ccdrOff, fix: '' });
  else {
    const results = await checkStatements(core.ccdr, config.stats.timeZone);
    const failed = results.filter((r) => !r.ok);
    const nodes = core.ccdr instanceof FailoverCcdrSource ? ` ${JSON.stringify(core.ccdr.status())}` : '';
    add(
      'uccx',
      failed.length
        ? { check: t.ccdr, status: 'fail', detail: failed.map((f) => `${f.statement}: ${f.detail}`).join('; '), fix: t.ccdrFix }
        : { check: t.ccdr, status: 'ok', detail: `${results.length} ${t.statements}${nodes}`, fix: '' },
    );
  }

  // The live queues: one read of UCCX's real-time snapshot, with the wallboard user when one is configured.
  if (core.ccdr && config.stats.liveIntervalS > 0) {
    const { nodes, ownsSources } = openLiveNodes(config.stats, core.ccdr);
    const reader = new LiveReader({ nodes, ownsSources, intervalSeconds: config.stats.liveIntervalS, log: { warn: () => undefined, info: () => undefined } });
    try {
      await reader.read();
      const s = reader.current();
      add(
        'uccx',
        s.state === 'live' && !s.gaps.length
          ? { check: t.live, status: 'ok', detail: `${s.queues.length} CSQ, ${t.liveAge(s.ageSeconds ?? 0, s.intervalSeconds)}${nodes.length > 1 ? ` (${s.node})` : ''}`, fix: '' }
          : {
              check: t.live,
              status: s.state === 'unreachable' ? 'fail' : 'warn',
              // The database's own words when it failed; else what UCCX does, in the reader's language.
              detail: s.state === 'off' ? t.liveOff : s.state === 'stale' ? t.liveStale(s.ageSeconds) : s.state === 'live' ? t.liveGaps(s.gaps) : (s.problem ?? s.state),
              fix: t.liveFix,
            },
      );
    } finally {
      await reader.close();
    }
  }

  // The public address Bitrix24 and the gadgets use.
  add('public url', await certificate(config.publicUrl, t));
  return lines;
}

/** The certificate of an https PUBLIC_URL: trusted by this machine's CAs, for its name, and how long it has left. */
async function certificate(publicUrl: string | null, t: (typeof DOCTOR_TEXT)[DoctorLang]): Promise<Check> {
  if (!publicUrl) return { check: t.publicUrl, status: 'warn', detail: t.noPublicUrl, fix: t.publicUrlFix };
  const u = new URL(publicUrl);
  if (u.protocol !== 'https:') return { check: t.publicUrl, status: 'warn', detail: publicUrl, fix: t.httpsFix };
  return new Promise<Check>((resolve) => {
    const socket = tls.connect({ host: u.hostname, port: Number(u.port || 443), servername: u.hostname, timeout: TIMEOUT_MS }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      const days = Math.floor((Date.parse(cert.valid_to) - Date.now()) / 86_400_000);
      resolve(
        days >= CERT_WARN_DAYS
          ? { check: t.publicUrl, status: 'ok', detail: `${t.validFor} ${days} d`, fix: '' }
          : { check: t.publicUrl, status: 'warn', detail: `${t.validFor} ${days} d`, fix: t.certFix },
      );
    });
    socket.on('error', (err) => resolve({ check: t.publicUrl, status: 'fail', detail: msg(err), fix: t.certFix }));
    socket.on('timeout', () => {
      socket.destroy();
      resolve({ check: t.publicUrl, status: 'fail', detail: 'timeout', fix: t.certFix });
    });
  });
}
