import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentClient } from '../../testing/agent-client';
import { startStack } from '../lab/lab-stack';
import type { EmulatedCall } from '../lab/bitrix24-emulator/server';
import { f, pct, verdict } from './stats';

/**
 * 14. Clicks against a portal kept full: a neighbouring application sends 10 requests a second from the same address
 * into the portal's 2 req/s, burst 50 bucket for the whole run, while users click 500 numbers in 5 minutes
 * (BENCH_CLICK_MINUTES shortens it; the count scales). Every click needs the portal's word on its token (the lab
 * portal issues a fresh token per event: the worst case). The agent's gadget (its HTTP side) accepts every dial
 * command. Counted: clicks dialled, clicks failed visibly (finished in Bitrix24 with the reason, the user notified),
 * silent ones (the goal: none), the portal's answers to the proofs, and click → dial times.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function busyClickBench(): Promise<void> {
  const minutes = Number(process.env.BENCH_CLICK_MINUTES ?? 5);
  const clicks = Math.round(100 * minutes);
  const stack = await startStack({ mode: 'app', finesse: { gadgetDir: mkdtempSync(join(tmpdir(), 'busy-click-')) }, env: { LOG_LEVEL: 'silent' } });
  const agent = new AgentClient(stack.url, '1001', 'lab');
  let stop = false;
  try {
    if ((await agent.open()).status !== 200) throw new Error('agent session refused');
    const dialledAt = new Map<string, number>();
    await agent.listen((cmd) => {
      dialledAt.set(cmd.callId, Date.now());
      void agent.post('/api/agent/dial-result', { commandId: cmd.id, ok: true });
    });
    const neighbour = (async () => {
      while (!stop) {
        await fetch(`${stack.emulator.url}/rest/server.time.json`, { method: 'POST' }).catch(() => undefined);
        await sleep(100);
      }
    })();
    await sleep(3000); // the portal's bucket is full now
    const before = { received: stack.emulator.counters.received['user.current'] ?? 0, rejected: stack.emulator.counters.rejected503 };
    const calls: EmulatedCall[] = [];
    const clickedAt = new Map<string, number>();
    const start = performance.now();
    const sent: Promise<void>[] = [];
    for (let i = 0; i < clicks; i++) {
      const wait = start + (i * minutes * 60_000) / clicks - performance.now();
      if (wait > 1) await sleep(wait);
      const t0 = Date.now();
      sent.push(
        stack.emulator.clickToCall(5, `+7 912 345 ${String(i).padStart(4, '0')}`).then((c) => {
          calls.push(c);
          clickedAt.set(c.CALL_ID, t0);
        }),
      );
    }
    await Promise.all(sent);
    stop = true;
    await neighbour;
    // Every click ends dialled or visibly failed; the failures' finishes go out once the portal has room again.
    const settled = () => calls.filter((c) => dialledAt.has(c.CALL_ID) || (c.finished && stack.emulator.notifications.some((n) => n.message === c.finished!.FAILED_REASON))).length;
    const end = Date.now() + 5 * 60_000;
    while (settled() < clicks && Date.now() < end) await sleep(250);
    const dialled = calls.filter((c) => dialledAt.has(c.CALL_ID));
    const failed = calls.filter((c) => !dialledAt.has(c.CALL_ID) && c.finished);
    const silent = clicks - dialled.length - failed.length;
    const waits = dialled.map((c) => dialledAt.get(c.CALL_ID)! - clickedAt.get(c.CALL_ID)!);
    const reasons: Record<string, number> = {};
    for (const c of failed) reasons[c.finished!.STATUS_CODE] = (reasons[c.finished!.STATUS_CODE] ?? 0) + 1;
    const proofs = (stack.emulator.counters.received['user.current'] ?? 0) - before.received;
    const checks = await (await fetch(`${stack.url}/metrics`)).text();
    const answer = (a: string) => Number(new RegExp(`^bitrix24_token_checks_total\\{answer="${a}"\\} (\\d+)`, 'm').exec(checks)?.[1] ?? 0);
    console.log(`\n14. Clicks against a full portal: ${clicks} clicks in ${minutes} min while a neighbouring application sends 10 req/s into the 2 req/s, burst 50 portal`);
    console.log(
      `   dialled ${dialled.length}, failed visibly ${failed.length} (${
        Object.entries(reasons)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || 'none'
      }), silent ${silent}   (goal 0 silent: ${verdict(silent === 0)})`,
    );
    console.log(`   click → dial command  p50 ${f(pct(waits, 50) / 1000)} s  p95 ${f(pct(waits, 95) / 1000)} s  (within the ${stack.connector.config.dial.proofWindowMs / 1000}-s window)`);
    console.log(
      `   proofs (user.current) that reached the portal: ${proofs} (${f(proofs / clicks)} a click); answers: the user ${answer('user')}, refused ${answer('refused')}, not now ${answer('unknown')} (a 503, or no slot in the bucket yet: asked again)`,
    );
  } finally {
    stop = true;
    agent.close();
    await stack.stop();
  }
}

if (require.main === module) {
  busyClickBench().catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
}
