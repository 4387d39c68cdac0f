import { LAB_UCCX_TOKEN, startStack } from '../lab/lab-stack';
import { f, pct, verdict } from './stats';

/**
 * Two middleware nodes on PostgreSQL behind HAProxy (deploy/haproxy.cfg), node 2 killed -9 in the middle of a steady
 * stream of UCCX lookups: every lookup answered within the lookup deadline, the round trips around the kill, how long
 * until node 2's unfinished work is done by node 1, and that no caller got two leads.
 */
const RATE = 20;
const SECONDS = 10;
const KILL_AT_S = 3;

export async function pairBench(): Promise<void> {
  const stack = await startStack({ mode: 'app', pair: { need: 'required' }, env: { LOG_LEVEL: 'silent', B24_WRITE_SETTLE_MS: '5000' } });
  const pair = stack.pair!;
  try {
    const t0 = performance.now();
    await pair.second.start();
    const startS = (performance.now() - t0) / 1000;
    await pair.balancer.serving();
    const deadline = stack.connector.config.lookupDeadlineMs;
    console.log(`\n13. Two middleware nodes (PostgreSQL, HAProxy): ${RATE} lookups/s for ${SECONDS} s through the balancer, node 2 killed -9 at ${KILL_AT_S} s`);
    console.log(`   node 2 started and serving in ${f(startS)} s`);
    const known = ['89123456789', '84951112233', '79160001122', '88125551122'];
    const unknown: string[] = [];
    const times: Array<{ at: number; ms: number; ok: boolean }> = [];
    let killedAt = 0;
    const all: Array<Promise<void>> = [];
    const start = performance.now();
    for (let i = 0; i < RATE * SECONDS; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (!killedAt && performance.now() - start >= KILL_AT_S * 1000) {
        killedAt = performance.now();
        all.push(pair.second.kill());
      }
      // Every tenth call is a new caller (a lead to make), the rest are customers (a busy hour: 72,000 calls an hour).
      const ani = i % 10 === 0 ? `8999555${String(i).padStart(4, '0')}` : known[i % known.length]!;
      if (i % 10 === 0) unknown.push(ani);
      all.push(
        (async () => {
          const s = performance.now();
          const res = await fetch(`${stack.url}/uccx/lookup?ani=${ani}&token=${LAB_UCCX_TOKEN}`).catch(() => null);
          const body = res ? await res.text() : '';
          times.push({ at: s, ms: performance.now() - s, ok: Boolean(res?.ok && /<route>(agent|queue)<\/route>/.test(body)) });
        })(),
      );
    }
    await Promise.all(all);
    const answered = times.filter((t) => t.ok).length;
    const inTime = times.filter((t) => t.ok && t.ms <= deadline).length;
    const around = times.filter((t) => t.at >= killedAt - 1000 && t.at <= killedAt + 2000).map((t) => t.ms);
    const before = times.filter((t) => t.at < killedAt - 1000).map((t) => t.ms);
    console.log(`   answered ${answered}/${times.length}, within the ${deadline} ms deadline ${inTime}/${times.length}   (goal all: ${verdict(inTime === times.length)})`);
    console.log(`   round trip before the kill   p50 ${f(pct(before, 50))} ms  p99 ${f(pct(before, 99))} ms`);
    console.log(`   round trip 1 s before to 2 s after   p50 ${f(pct(around, 50))} ms  p99 ${f(pct(around, 99))} ms  max ${f(Math.max(...around))} ms`);
    // Node 2's claimed work waits for its lease (10 s); a lead it was making waits the settle time, then is looked for.
    const leadsOk = () => unknown.every((n) => stack.emulator.leadCount(`+7${n.slice(1)}`) >= 1);
    while (!leadsOk() && performance.now() - killedAt < 120_000) await new Promise((r) => setTimeout(r, 100));
    while ((await stack.connector.outbox.stats()).depth > 0 && performance.now() - killedAt < 120_000) await new Promise((r) => setTimeout(r, 100));
    const doneS = (performance.now() - killedAt) / 1000;
    const doubled = unknown.filter((n) => stack.emulator.leadCount(`+7${n.slice(1)}`) > 1).length;
    console.log(`   every new caller has a lead and the outbox is empty ${f(doneS)} s after the kill   (goal ≤ 30 s: ${verdict(doneS <= 30 && leadsOk())})`);
    console.log(`   callers with two leads: ${doubled} of ${unknown.length}   (goal 0: ${verdict(doubled === 0)})`);
  } finally {
    await stack.stop();
  }
}
