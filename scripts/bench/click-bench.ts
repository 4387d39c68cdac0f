import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGadget } from '../../gadget/build';
import { launchChromium } from '../lab/browser';
import { startStack } from '../lab/lab-stack';
import { f, pct, verdict } from './stats';

/**
 * Click-to-dial latency: Bitrix24 sends ONEXTERNALCALLSTART → the Finesse emulator receives the gadget's MAKE_CALL.
 * The real gadget runs in Chromium inside the lab desktop; the clock starts when the emulator posts the event (so
 * the delivery itself is counted) and stops when Finesse has the POST. Each call is hung up before the next click.
 * One click a second (a busy portal's users together): each click's token is proved with the portal (the lab portal
 * issues a fresh token per event, the worst case) and each call finished, inside the portal's 2 req/s — section 14
 * measures what happens beyond it.
 */
const CLICKS = 60;
const EVERY_MS = 1000;

export async function clickBench(): Promise<void> {
  const built = await buildGadget(mkdtempSync(join(tmpdir(), 'click-bench-')));
  const stack = await startStack({ mode: 'app', finesse: { gadgetDir: built.outDir }, env: { LOG_LEVEL: 'silent' } });
  const { browser, context } = await launchChromium();
  try {
    const f0 = stack.finesse!;
    f0.outbound = { ...f0.outbound, answerAfterMs: 60_000 };
    const page = await context.newPage();
    await page.goto(f0.desktopUrl('1001'));
    await page.frameLocator('#gadget').locator('.fb24-dial[data-status=online]').waitFor();
    const lat: number[] = [];
    const start = Date.now();
    for (let i = 0; i < CLICKS; i++) {
      const due = start + i * EVERY_MS - Date.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
      const t0 = Date.now();
      await stack.emulator.clickToCall(5, '+7 912 345 67 89', { type: 'CONTACT', id: 42 });
      const end = Date.now() + 5000;
      while (f0.makeCalls.length <= i && Date.now() < end) await new Promise((r) => setTimeout(r, 1));
      if (f0.makeCalls.length <= i) throw new Error(`click ${i + 1}: no MAKE_CALL within 5 s`);
      lat.push(f0.makeCalls[i]!.at - t0);
      f0.endAll();
    }
    const p95 = pct(lat, 95);
    console.log(`\n7. Click-to-dial: event sent by Bitrix24 → MAKE_CALL at Finesse, ${CLICKS} clicks, one a second (gadget in Chromium, loopback)`);
    console.log(`   p50 ${f(pct(lat, 50))} ms  p95 ${f(p95)} ms  max ${f(Math.max(...lat))} ms   (goal p95 ≤ 150 ms: ${verdict(p95 <= 150)})`);
  } finally {
    await browser.close();
    await stack.stop();
  }
}

if (require.main === module) {
  clickBench().catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
}
