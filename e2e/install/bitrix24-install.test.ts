import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import qs from 'qs';
import { Bitrix24Emulator } from '../../scripts/lab/bitrix24-emulator/server';
import { LAB_UCCX_TOKEN, middlewareEnv, startStack } from '../../scripts/lab/lab-stack';
import { parseConfig } from '../../middleware/config';
import { Connector } from '../../middleware/connector';
import { uccxLookup } from '../../testing/lookup-client';

const form = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });

describe('POST /bitrix/install', () => {
  let emulator: Bitrix24Emulator;
  let other: Bitrix24Emulator;
  let connector: Connector;
  beforeEach(async () => {
    emulator = new Bitrix24Emulator();
    other = new Bitrix24Emulator();
    await emulator.start();
    await other.start();
    connector = new Connector(parseConfig(middlewareEnv(emulator, 'app', mkdtempSync(join(tmpdir(), 'inst-')))));
    await connector.listen(0, '127.0.0.1');
  });
  afterEach(async () => {
    await connector.stop(100);
    await emulator.stop();
    await other.stop();
  });

  it('stores the installation of the configured portal and answers in the portal language', async () => {
    const res = await fetch(`${connector.url}/bitrix/install?LANG=ru`, form(emulator.installForm()));
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('Приложение установлено');
    // An application with an interface is installed only when its page says so in the frame.
    expect(page).toContain('BX24.installFinish()');
    expect(await connector.store.getKv('bitrix24.installation')).toMatchObject({ memberId: emulator.memberId, applicationToken: emulator.applicationToken });
  });

  const REFUSED = "install: refused (the configured portal did not confirm an administrator's token for this application)\n";

  it('refuses another portal than B24_PORTAL_URL', async () => {
    const res = await fetch(`${connector.url}/bitrix/install`, form(other.installForm()));
    expect(res.status).toBe(403);
    expect(await res.text()).toBe(REFUSED);
    expect(await connector.store.getKv('bitrix24.installation')).toBeNull();
  });

  it('takeover attempts: endpoints from the request are never called, a regular user cannot re-install, Host is ignored', async () => {
    expect((await fetch(`${connector.url}/bitrix/install`, form(emulator.installForm()))).status).toBe(200);
    const before = (await connector.store.getKv<{ refreshToken: string; applicationToken: string }>('bitrix24.installation'))!;
    // 1. The real portal's member id and a frame token of a regular user (user 6), with the attacker's endpoints.
    const frame = emulator.frameForm(6);
    const attack = qs.parse(emulator.installForm()) as { auth: Record<string, string> };
    Object.assign(attack.auth, { access_token: frame.AUTH_ID, refresh_token: frame.REFRESH_ID, application_token: 'attacker-chosen-token', server_endpoint: `${other.url}/rest/` });
    const asUser = await fetch(`${connector.url}/bitrix/install`, { ...form(qs.stringify(attack)), headers: { ...form('').headers, host: 'attacker.example:9999' } });
    expect(asUser.status).toBe(403);
    expect(await asUser.text()).toBe(REFUSED);
    // 2. The attacker's own portal named as client_endpoint: refused without a request to it.
    const calls = other.counters.httpRequests;
    attack.auth.client_endpoint = `${other.url}/rest/`;
    expect(await (await fetch(`${connector.url}/bitrix/install`, form(qs.stringify(attack)))).text()).toBe(REFUSED);
    // 3. An internal address as client_endpoint answers exactly the same (no port scanning through us).
    attack.auth.client_endpoint = 'http://127.0.0.1:1/rest/';
    expect(await (await fetch(`${connector.url}/bitrix/install`, form(qs.stringify(attack)))).text()).toBe(REFUSED);
    expect(other.counters.httpRequests).toBe(calls);
    expect(await connector.store.getKv('bitrix24.installation')).toEqual(before);
    // The events stay bound to our own address, never the Host a request named.
    expect([...emulator.bindings.get('ONEXTERNALCALLSTART')!]).toEqual([`${connector.url}/bitrix/events`]);
  });

  it('a token refresh goes to B24_OAUTH_URL only, with the REST endpoint still the pinned portal', async () => {
    expect((await fetch(`${connector.url}/bitrix/install`, form(emulator.installForm()))).status).toBe(200);
    emulator.expireAccessTokens();
    const otherCalls = other.counters.httpRequests;
    expect((await uccxLookup(connector.url, { ani: '89123456789', token: LAB_UCCX_TOKEN })).fields.status).toBe('found');
    expect(emulator.counters.refreshes).toBe(1);
    expect(other.counters.httpRequests).toBe(otherCalls);
    expect((await connector.store.getKv<{ clientEndpoint: string }>('bitrix24.installation'))!.clientEndpoint).toBe(`${emulator.url}/rest/`);
  });

  it('refuses a token the portal does not know, and a callback missing fields', async () => {
    const forged = qs.parse(emulator.installForm()) as { auth: Record<string, string> };
    forged.auth.access_token = 'f'.repeat(72);
    const res = await fetch(`${connector.url}/bitrix/install`, form(qs.stringify(forged)));
    expect(res.status).toBe(403);
    const missing = await fetch(`${connector.url}/bitrix/install`, form('auth[domain]=x'));
    expect(missing.status).toBe(400);
    expect(await missing.text()).toBe('install: missing memberId, accessToken, refreshToken in the Bitrix24 callback\n');
  });

  it("an install through the frame brings no application token: events wait for ONAPPINSTALL, taken only with an administrator's token", async () => {
    const frame = emulator.installFrameForm(1);
    expect(frame.APPLICATION_TOKEN).toBeUndefined();
    const query = new URLSearchParams({ DOMAIN: new URL(emulator.url).host, PROTOCOL: '0', LANG: 'en' });
    emulator.installFinished = false;
    const res = await fetch(`${connector.url}/bitrix/install?${query}`, form(new URLSearchParams(frame).toString()));
    expect(res.status).toBe(200);
    expect(await connector.store.getKv('bitrix24.installation')).toMatchObject({ memberId: emulator.memberId, applicationToken: '' });
    expect([...emulator.bindings.get('ONAPPINSTALL')!]).toEqual([`${connector.url}/bitrix/events`]);
    // Before the token is known, an event is refused, whatever it says.
    const click = { PHONE_NUMBER: '89123456789', USER_ID: '5', CALL_ID: 'externalCall.x.1' };
    expect((await fetch(`${connector.url}/bitrix/events`, form(emulator.eventForm('ONEXTERNALCALLSTART', click, {}, 5)))).status).toBe(401);
    // A forged ONAPPINSTALL (a regular user's token, the member id every frame shows) teaches nothing.
    expect((await fetch(`${connector.url}/bitrix/events`, form(emulator.eventForm('ONAPPINSTALL', {}, { application_token: 'attacker-chosen' }, 6)))).status).toBe(401);
    expect(await connector.store.getKv('bitrix24.installation')).toMatchObject({ applicationToken: '' });
    // BX24.installFinish(): the portal delivers ONAPPINSTALL with the administrator's token; the token is taken.
    expect(await emulator.finishInstall()).toEqual([200]);
    expect(await connector.store.getKv('bitrix24.installation')).toMatchObject({ applicationToken: emulator.applicationToken });
    expect(await emulator.emit('ONEXTERNALCALLBACKSTART', { PHONE_NUMBER: '89123456789' })).toEqual([200]);
    // A reinstall through the frame keeps the token it has, and binds nothing twice.
    expect((await fetch(`${connector.url}/bitrix/install?${query}`, form(new URLSearchParams(emulator.installFrameForm(1)).toString()))).status).toBe(200);
    expect(await connector.store.getKv('bitrix24.installation')).toMatchObject({ applicationToken: emulator.applicationToken });
    expect(emulator.placements.map((p) => p.placement)).toEqual(['TELEPHONY_ANALYTICS_MENU']);
  });

  it('refuses a second portal once installed (member_id differs)', async () => {
    expect((await fetch(`${connector.url}/bitrix/install`, form(emulator.installForm()))).status).toBe(200);
    const forged = qs.parse(emulator.installForm()) as { auth: Record<string, string> };
    forged.auth.member_id = 'someoneelse';
    const res = await fetch(`${connector.url}/bitrix/install`, form(qs.stringify(forged)));
    expect(res.status).toBe(403);
  });
});

describe('UCCX_ALLOWED_IPS', () => {
  it.each([
    ['10.1.2.3', 403],
    ['10.1.2.3,127.0.0.1', 200],
  ])('allow-list %s → %i from 127.0.0.1', async (ips, status) => {
    const stack = await startStack({ mode: 'webhook', env: { UCCX_ALLOWED_IPS: ips } });
    try {
      // What a lookup would ask (the node's own background reads, such as the users' internal numbers, may run meanwhile).
      const searches = () => ['crm.duplicate.findbycomm', 'telephony.externalCall.searchCrmEntities'].reduce((n, m) => n + (stack.emulator.counters.received[m] ?? 0), 0);
      const before = searches();
      const a = await uccxLookup(stack.url, { ani: '89123456789', token: LAB_UCCX_TOKEN });
      expect(a.status).toBe(status);
      if (status === 403) {
        expect(a.body).toBe('client 127.0.0.1 is not in UCCX_ALLOWED_IPS\n');
        expect(searches()).toBe(before);
      } else expect(searches()).toBeGreaterThan(before);
    } finally {
      await stack.stop();
    }
  });
});

describe('CORS for the gadget', () => {
  it('answers only the configured Finesse origins', async () => {
    const stack = await startStack({ mode: 'webhook', env: { FINESSE_ORIGINS: 'https://finesse1.example.com:8445' } });
    try {
      const preflight = await fetch(`${stack.url}/api/lookup?phone=89123456789`, {
        method: 'OPTIONS',
        headers: { origin: 'https://finesse1.example.com:8445', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://finesse1.example.com:8445');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
      const other = await fetch(`${stack.url}/api/lookup?phone=89123456789`, { headers: { origin: 'https://evil.example', authorization: `Bearer ${LAB_UCCX_TOKEN}` } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const uccx = await fetch(`${stack.url}/uccx/lookup?ani=89123456789&token=${LAB_UCCX_TOKEN}`, { headers: { origin: 'https://finesse1.example.com:8445' } });
      expect(uccx.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await stack.stop();
    }
  });
});

describe("an install called before the keys are configured (the application's first save)", () => {
  it('says exactly what to do, in the portal language, and stores nothing', async () => {
    const stack = await startStack({ mode: 'webhook' });
    try {
      const res = await fetch(`${stack.url}/bitrix/install?LANG=en`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'AUTH_ID=x&REFRESH_ID=y&member_id=z' });
      expect(res.status).toBe(503);
      const page = await res.text();
      expect(page).toContain('Copy client_id and client_secret');
      expect(page).toContain('B24_CLIENT_ID');
      expect(page).toContain('press Reinstall');
      expect(page).not.toContain('installFinish');
      const ru = await (await fetch(`${stack.url}/bitrix/install?LANG=ru`, { method: 'POST' })).text();
      expect(ru).toContain('нажмите «Переустановить»');
      expect(await stack.connector.store.getKv('bitrix24.installation')).toBeNull();
    } finally {
      await stack.stop();
    }
  });
});
