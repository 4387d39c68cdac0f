import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { parseConfig } from '../../middleware/config';
import { Connector } from '../../middleware/connector';
import { BX24_STANDIN } from '../../scripts/lab/bitrix24-emulator/admin-pages';
import { Bitrix24Emulator } from '../../scripts/lab/bitrix24-emulator/server';
import { launchChromium } from '../../scripts/lab/browser';
import { middlewareEnv } from '../../scripts/lab/lab-stack';
import { freePort } from '../../testing/process-group';

/**
 * The Bitrix24 administrator's installation as docs/install.md orders it, walked in Chromium against the emulator:
 * save the local application (its keys appear, and the first install runs before the connector has them: it says
 * what to do), configure the keys and restart, press Reinstall: installed, BX24.installFinish(), ONAPPINSTALL brings
 * the application token, and a click on a number reaches the connector.
 */
describe("the administrator's Bitrix24 installation in a browser", () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'admin-install-'));
  let emulator: Bitrix24Emulator;
  let connector: Connector | null = null;
  let browser: Browser | null = null;
  beforeAll(async () => {
    emulator = new Bitrix24Emulator();
    await emulator.start();
  });
  afterAll(async () => {
    await browser?.close();
    await connector?.stop(100);
    await emulator.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('save → the install says what is missing → keys configured, restart → Reinstall → installed and events accepted', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // The connector as an integrator first starts it: a portal webhook for the lookups, no application keys yet.
    connector = new Connector(parseConfig(middlewareEnv(emulator, 'webhook', dataDir)));
    await connector.listen(port, '127.0.0.1');

    const { browser: b, context } = await launchChromium();
    browser = b;
    // Bitrix24's JS library inside application frames: the lab's stand-in.
    await context.route('https://api.bitrix24.com/api/v1/**', (route) => route.fulfill({ contentType: 'application/javascript', body: BX24_STANDIN }));
    const page = await context.newPage();
    await page.goto(`${emulator.url}/devops/section/standard/?${new URLSearchParams({ handler: `${base}/bitrix/app`, install: `${base}/bitrix/install` })}`);
    await page.click('#save');
    const clientId = (await page.locator('#client-id').textContent())!;
    const clientSecret = (await page.locator('#client-secret').textContent())!;
    expect(clientId).toBe(emulator.app.clientId);
    // The first install runs on save, before the keys are configured: it says what to do, and nothing is installed.
    const frame = page.frameLocator('#install');
    await frame.getByText('B24_CLIENT_ID').waitFor();
    expect(await frame.locator('body').textContent()).toContain('«Переустановить»');
    await page.screenshot({ path: join(process.env.SCREENSHOTS_DIR ?? dataDir, 'first-save.png') });
    expect(await connector.store.getKv('bitrix24.installation')).toBeNull();
    expect(await page.locator('#install-state').getAttribute('data-state')).toBe('pending');

    // The integrator copies the keys into the configuration and restarts the service.
    await connector.stop(100);
    connector = new Connector(parseConfig({ ...middlewareEnv(emulator, 'app', dataDir), B24_CLIENT_ID: clientId, B24_CLIENT_SECRET: clientSecret, PUBLIC_URL: base }));
    await connector.listen(port, '127.0.0.1');

    // Reinstall: the install page sets the portal up and calls BX24.installFinish(); ONAPPINSTALL brings the token.
    await page.click('#reinstall');
    await frame.getByText('Приложение установлено').waitFor();
    await page.locator('#install-state[data-state="finished"]').waitFor();
    await page.screenshot({ path: join(process.env.SCREENSHOTS_DIR ?? dataDir, 'reinstalled.png') });
    const inst = await connector.store.getKv<{ memberId: string; applicationToken: string }>('bitrix24.installation');
    expect(inst).toMatchObject({ memberId: emulator.memberId, applicationToken: emulator.applicationToken });
    expect(emulator.deliveries.filter((d) => d.event === 'ONAPPINSTALL').map((d) => d.status)).toEqual([200]);
    expect([...emulator.bindings.get('ONEXTERNALCALLSTART')!]).toEqual([`${base}/bitrix/events`]);
    // The portal now delivers events and the connector accepts them: a click on a number (no agent is signed in,
    // so the click is answered and then failed visibly — what matters here is that it is not refused).
    const call = await emulator.clickToCall(5, '+7 912 345-67-89');
    expect(emulator.deliveries.filter((d) => d.event === 'ONEXTERNALCALLSTART').map((d) => d.status)).toEqual([200]);
    expect(call.CALL_ID).toMatch(/^externalCall\./);
  });
});
