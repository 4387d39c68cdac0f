import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import qs from 'qs';
import { Bitrix24Emulator } from '../../scripts/lab/bitrix24-emulator/server';
import { LAB_UCCX_TOKEN, middlewareEnv, startStack } from '../../scripts/lab/lab-stack';
import { parseConfig } from '../config';
import { Connector } from '../connector';
import { uccxLookup } from '../test-support/lookup-client';

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
    expect(await res.text()).toContain('Приложение установлено');
    expect(connector.store.getKv('bitrix24.installation')).toMatchObject({ memberId: emulator.memberId, applicationToken: emulator.applicationToken });
  });

  it('refuses another portal than B24_PORTAL_URL', async () => {
    const res = await fetch(`${connector.url}/bitrix/install`, form(other.installForm()));
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/^install: portal .* is not B24_PORTAL_URL\n$/);
    expect(connector.store.getKv('bitrix24.installation')).toBeNull();
  });

  it('refuses a token the portal does not know, and a callback missing fields', async () => {
    const forged = qs.parse(emulator.installForm()) as { auth: Record<string, string> };
    forged.auth.access_token = 'f'.repeat(72);
    const res = await fetch(`${connector.url}/bitrix/install`, form(qs.stringify(forged)));
    expect(res.status).toBe(403);
    const missing = await fetch(`${connector.url}/bitrix/install`, form('auth[domain]=x'));
    expect(missing.status).toBe(400);
    expect(await missing.text()).toBe('install: missing memberId, accessToken, refreshToken, applicationToken in the Bitrix24 callback\n');
  });

  it('refuses a second portal once installed (member_id differs)', async () => {
    expect((await fetch(`${connector.url}/bitrix/install`, form(emulator.installForm()))).status).toBe(200);
    const forged = qs.parse(emulator.installForm()) as { auth: Record<string, string> };
    forged.auth.member_id = 'someoneelse';
    const res = await fetch(`${connector.url}/bitrix/install`, form(qs.stringify(forged)));
    expect(res.status).toBe(409);
  });
});

describe('UCCX_ALLOWED_IPS', () => {
  it.each([
    ['10.1.2.3', 403],
    ['10.1.2.3,127.0.0.1', 200],
  ])('allow-list %s → %i from 127.0.0.1', async (ips, status) => {
    const stack = await startStack({ mode: 'webhook', env: { UCCX_ALLOWED_IPS: ips } });
    try {
      const before = stack.emulator.counters.httpRequests;
      const a = await uccxLookup(stack.url, { ani: '89123456789', token: LAB_UCCX_TOKEN });
      expect(a.status).toBe(status);
      if (status === 403) {
        expect(a.body).toBe('client 127.0.0.1 is not in UCCX_ALLOWED_IPS\n');
        expect(stack.emulator.counters.httpRequests).toBe(before);
      }
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
