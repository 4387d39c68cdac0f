import { uccxLookup } from '../../testing/lookup-client';
import { LAB_UCCX_TOKEN, startStack } from '../lab/lab-stack';
import { f, pct, verdict } from './stats';

/**
 * 15. The portal deleted under the busy hour's lookups (8,000 calls an hour, a third new callers) for
 * BENCH_OUTAGE_MINUTES (10 by default), then back: REST requests a minute while it is gone (goal: the probe's 3),
 * lookups answered within the deadline, jobs kept, and the time from "portal back" to the outbox drained.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KNOWN = ['89123456789', '79037778899', '84951112233', '79160001122'];

export async function portalGoneBench(): Promise<void> {
  const minutes = Number(process.env.BENCH_OUTAGE_MINUTES ?? 10);
  const stack = await startStack({ mode: 'app', env: { LOG_LEVEL: 'silent', LOOKUP_CACHE_TTL_S: '0' } });
  try {
    await uccxLookup(stack.url, { ani: KNOWN[0]!, token: LAB_UCCX_TOKEN });
    await stack.connector.settled();
    stack.emulator.switches.portal = 'deleted';
    const deadline = stack.connector.config.lookupDeadlineMs;
    const times: number[] = [];
    const reasons: Record<string, number> = {};
    const fresh = new Set<string>();
    let requestsAtStart = -1;
    const start = performance.now();
    const perSecond = 8000 / 3600;
    const calls = Math.round(minutes * 60 * perSecond);
    const all: Promise<void>[] = [];
    for (let i = 0; i < calls; i++) {
      const wait = start + (i * 1000) / perSecond - performance.now();
      if (wait > 1) await sleep(wait);
      const isNew = i % 3 === 2;
      const ani = isNew ? `+7 999 51${String(i).padStart(5, '0')}` : KNOWN[i % KNOWN.length]!;
      if (isNew) fresh.add(ani.replace(/[^\d+]/g, ''));
      all.push(
        (async () => {
          const t0 = performance.now();
          const a = await uccxLookup(stack.url, { ani, callId: `gone-${i}`, token: LAB_UCCX_TOKEN });
          times.push(performance.now() - t0);
          const r = a.fields.reason || a.fields.status || `HTTP ${a.status}`;
          reasons[r] = (reasons[r] ?? 0) + 1;
          // The state is known after the first refusal: count what reaches the portal from then on.
          if (requestsAtStart < 0 && r === 'bitrix24_portal_gone') requestsAtStart = stack.emulator.counters.httpRequests;
        })(),
      );
    }
    await Promise.all(all);
    const goneMinutes = (performance.now() - start) / 60_000;
    const requests = stack.emulator.counters.httpRequests - Math.max(0, requestsAtStart);
    const kept = (await stack.connector.outbox.stats()).depth;
    stack.emulator.switches.portal = 'ok';
    const back = performance.now();
    // The next probe (every 20 s) finds it back; then the kept jobs go out.
    while ((await stack.connector.outbox.stats()).depth > 0 && performance.now() - back < 10 * 60_000) await sleep(250);
    const drainedS = (performance.now() - back) / 1000;
    const leads = [...fresh].filter((n) => stack.emulator.leadCount(n) === 1).length;
    const inTime = times.filter((t) => t <= deadline + 50).length;
    console.log(`\n15. Portal deleted (PORTAL_DELETED) for ${f(goneMinutes)} min under the busy hour's lookups (${calls} calls, a third new callers), then back`);
    console.log(`   REST requests a minute while gone: ${f(requests / goneMinutes)}   (goal ≤ 3, the probe: ${verdict(requests / goneMinutes <= 3.5)})`);
    console.log(
      `   lookups within the ${deadline} ms deadline: ${inTime}/${calls}   (goal all: ${verdict(inTime === calls)});  p99 ${f(pct(times, 99))} ms;  answers: ${Object.entries(reasons)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    console.log(
      `   jobs kept while gone: ${kept};  portal back → outbox drained in ${f(drainedS)} s (a probe every 20 s, then the jobs);  new callers with their one lead: ${leads}/${fresh.size}   (goal all: ${verdict(leads === fresh.size)})`,
    );
  } finally {
    await stack.stop();
  }
}

if (require.main === module) {
  portalGoneBench().catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
}
