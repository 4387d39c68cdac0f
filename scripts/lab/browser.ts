import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser). The real binary starts faster than
 * the /usr/bin wrapper. Missing Chromium is an error, not a skip: `npm test` installs it.
 */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((p): p is string => Boolean(p && existsSync(p)));
  if (!found) throw new Error('Chromium is not installed: run `apt-get install -y chromium` (npm test does it) or set CHROMIUM_PATH');
  return found;
}

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(opts: { popupBlocking?: boolean } = {}): Promise<{ browser: Browser; context: BrowserContext }> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ARGS,
    // Playwright disables the pop-up blocker by default; an agent's browser has it on.
    ignoreDefaultArgs: opts.popupBlocking ? ['--disable-popup-blocking'] : [],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  return { browser, context };
}
