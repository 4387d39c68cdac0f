import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Frame } from 'playwright-core';
import { buildGadget } from '../../gadget/build';
import { launchChromium } from '../lab/browser';
import { dialogUpdate, ringing } from '../lab/finesse/finesse-xml';
import { startStack } from '../lab/lab-stack';
import { f, pct, verdict } from './stats';

/**
 * Notification published → window.open called in the gadget, in Chromium, per transport, with the CRM record in
 * the call variables (the normal case with the UCCX script of the guide). window.open is recorded, not performed.
 */
const CALLS = 120;
const now = () => performance.timeOrigin + performance.now();

const RECORD_OPENS = `
  window.__opens = [];
  window.open = function () { window.__opens.push(performance.timeOrigin + performance.now()); return { closed: false, focus: function () {} }; };
`;

export async function gadgetBench(): Promise<void> {
  const built = await buildGadget(mkdtempSync(join(tmpdir(), 'gadget-bench-')));
  const js = readFileSync(join(built.outDir, 'fb24.js'));
  const gz = gzipSync(js).byteLength;
  console.log('\n4. Gadget bundle (fb24.js with jQuery and the XMPP client)');
  console.log(`   ${f(js.byteLength / 1024)} KB minified, ${f(gz / 1024)} KB gzip   (goal ≤ 100 KB gzip: ${verdict(gz <= 100 * 1024)})`);

  const stack = await startStack({ mode: 'app', finesse: { gadgetDir: built.outDir, xmpp: 'required' } });
  const { browser, context } = await launchChromium();
  try {
    await context.addInitScript(RECORD_OPENS);
    console.log(`\n5. Notification published → window.open in the gadget, ${CALLS} calls per transport (Chromium, loopback)`);
    let n = 0;
    for (const transport of ['hub', 'websocket', 'bosh'] as const) {
      const page = await context.newPage();
      await page.goto(transport === 'hub' ? stack.finesse!.desktopUrl('1001') : stack.finesse!.standaloneUrl('1001', transport));
      const frame: Frame = transport === 'hub' ? (await (await page.waitForSelector('#gadget')).contentFrame())! : page.mainFrame();
      await frame.waitForSelector('.fb24-state[data-status=connected]');
      const lat: number[] = [];
      for (let i = 0; i < CALLS; i++) {
        const update = dialogUpdate('1001', 'POST', { ...ringing('1021', String(90_000_000 + ++n), '79001112233'), vars: { callVariable2: 'CONTACT:42' } });
        const t0 = now();
        stack.finesse!.publish('1001', update);
        let opens: number[] = [];
        const end = Date.now() + 5000;
        while (opens.length <= i && Date.now() < end) opens = await frame.evaluate(() => (window as unknown as { __opens: number[] }).__opens);
        if (opens.length <= i) throw new Error(`${transport}: call ${i + 1} did not pop within 5 s`);
        lat.push(opens[i]! - t0);
      }
      const p95 = pct(lat, 95);
      console.log(`   ${transport.padEnd(9)} p50 ${f(pct(lat, 50))} ms  p95 ${f(p95)} ms  max ${f(Math.max(...lat))} ms   (goal p95 ≤ 100 ms: ${verdict(p95 <= 100)})`);
      await page.close();
    }
  } finally {
    await browser.close();
    await stack.stop();
  }
}
