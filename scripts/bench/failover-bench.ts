import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGadget } from '../../gadget/build';
import { launchChromium } from '../lab/browser';
import { startStack } from '../lab/lab-stack';
import { f, pct, verdict } from './stats';

/**
 * A Finesse failover (side A → side B of a UCCX HA pair) under the gadget, in Chromium: the time from side B coming
 * into service to the gadget connected to it and click-to-dial online again — per transport (the standalone page
 * over WebSocket and BOSH, the desktop over its hub, where the desktop itself moves to B). Goal: ≤ 5 s.
 */
const ROUNDS = 5;

export async function failoverBench(): Promise<void> {
  const built = await buildGadget(mkdtempSync(join(tmpdir(), 'failover-bench-')));
  const stack = await startStack({ mode: 'app', finesse: { gadgetDir: built.outDir, xmpp: 'required', twoSides: true } });
  const { browser, context } = await launchChromium();
  const finesse = stack.finesse!;
  try {
    console.log(`\n11. Finesse failover: side B in service → gadget connected to B and click-to-dial online, ${ROUNDS} failovers per transport (Chromium, loopback)`);
    for (const transport of ['websocket', 'bosh', 'hub'] as const) {
      const ms: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const page = await context.newPage();
        const home = finesse.inService.A ? 'A' : 'B';
        // The page opens on the side in service (a desktop is served by it; the standalone page finds it).
        await page.goto(transport === 'hub' ? `${finesse.sideUrl(home)}/desktop?agent=1001&lang=en` : finesse.standaloneUrl('1001', transport, { lang: 'en' }));
        const gadget = transport === 'hub' ? page.frameLocator('#gadget') : page;
        await gadget.locator('.fb24-state[data-status=connected]').waitFor({ timeout: 30_000 });
        await gadget.locator('.fb24-dial[data-status=online]').waitFor({ timeout: 30_000 });
        const { to } = finesse.failover(3_600_000);
        if (transport === 'hub') await page.locator('#log', { hasText: `finesse side ${home} out of service` }).waitFor();
        else await gadget.locator('.fb24-state[data-status=reconnecting], .fb24-state[data-status=connecting]').first().waitFor({ timeout: 30_000 });
        const t0 = performance.now();
        finesse.setSide(to, true);
        if (transport === 'hub') await page.waitForURL(`${finesse.sideUrl(to)}/desktop**`, { timeout: 30_000 });
        const g = transport === 'hub' ? page.frameLocator('#gadget') : page;
        await g.locator('.fb24-state[data-status=connected]').waitFor({ timeout: 30_000 });
        await g.locator('.fb24-dial[data-status=online]').waitFor({ timeout: 30_000 });
        ms.push(performance.now() - t0);
        await page.close();
      }
      const p95 = pct(ms, 95);
      console.log(`   ${transport.padEnd(9)} p50 ${f(pct(ms, 50) / 1000)} s  max ${f(Math.max(...ms) / 1000)} s   (goal ≤ 5 s: ${verdict(p95 <= 5000)})`);
    }
    console.log('   (Finesse itself needs 120–150 s to recover after a CTI failover, Cisco says; this is what follows it)');
  } finally {
    await browser.close();
    await stack.stop();
  }
}
