import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadSource, parseConfig } from './config';
import { PostgresDb } from './store-postgres';

const base = { B24_WEBHOOK_URL: 'https://p.example/rest/1/s3cretsecret/', B24_UNPROCESSED_USER_ID: '9', HOST: '127.0.0.1' };

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const c = parseConfig(base);
    expect(c).toMatchObject({
      port: 8080,
      lookupDeadlineMs: 1500,
      rate: { perSecond: 2, burst: 50 },
      dataDir: './data',
      uccxToken: null,
      bitrix24: { mode: 'webhook', webhookUrl: 'https://p.example/rest/1/s3cretsecret/' },
      phone: { countryCode: '7', nationalLength: 10, trunkPrefix: '8', outsidePrefixes: [] },
    });
    expect(c.secrets).toContain('s3cretsecret');
  });

  it('takes Finesse side A and side B, and refuses a third or a non-URL', () => {
    expect(parseConfig({ ...base, FINESSE_URL: 'https://fin1.example.com:8445/, https://fin2.example.com:8445' }).finesseUrls).toEqual([
      'https://fin1.example.com:8445',
      'https://fin2.example.com:8445',
    ]);
    expect(parseConfig(base).finesseUrls).toEqual([]);
    expect(() => parseConfig({ ...base, FINESSE_URL: 'https://a,https://b,https://c' })).toThrow(/FINESSE_URL.*at most 2/);
    expect(() => parseConfig({ ...base, FINESSE_URL: 'https://a,fin2:8445' })).toThrow(/FINESSE_URL.*http\(s\) URL/);
  });

  it('takes the call records of both UCCX nodes, the first first, and keeps both passwords out of the logs', () => {
    const first = 'DRIVER={IBM INFORMIX ODBC DRIVER};DATABASE=db_cra;HOST=uccx2;PWD=pw-one-1';
    const second = 'DRIVER={IBM INFORMIX ODBC DRIVER};DATABASE=db_cra;HOST=uccx1;PWD=pw-two-2';
    const c = parseConfig({ ...base, CCDR_ODBC_CONNECTION: first, CCDR_ODBC_CONNECTION_2: second });
    expect(c.stats.source).toEqual({ kind: 'odbc', connections: [first, second] });
    expect(c.secrets).toEqual(expect.arrayContaining(['pw-one-1', 'pw-two-2', first, second]));
    expect(() => parseConfig({ ...base, CCDR_ODBC_CONNECTION_2: second })).toThrow(/CCDR_ODBC_CONNECTION_2.*needs CCDR_ODBC_CONNECTION/);
  });

  it('puts the store on PostgreSQL with DATABASE_URL, and keeps its password out of the logs and /readyz', async () => {
    const url = 'postgres://fb24:p%40ss-w0rd@db.example:5432/fb24';
    const c = parseConfig({ ...base, DATABASE_URL: url });
    expect(c.databaseUrl).toBe(url);
    expect(c.secrets).toEqual(expect.arrayContaining([url, 'p@ss-w0rd']));
    const db = new PostgresDb(url); // no connection is made until a statement
    expect(db.describe()).toMatchObject({ kind: 'postgres', url: 'postgres://fb24:***@db.example:5432/fb24' });
    await db.close();
    expect(parseConfig(base).databaseUrl).toBeNull();
    expect(() => parseConfig({ ...base, DATABASE_URL: 'mysql://x@y/z' })).toThrow(/DATABASE_URL.*postgres:\/\/user:password@host:5432\/database/);
  });

  it.each([
    [{ ...base, PORT: 'eighty' }, 'PORT', 'a whole number from 0 to 65535'],
    [{ ...base, PHONE_INDEX_EVENTS: 'offline' }, 'PHONE_INDEX_EVENTS', 'offline events need the application'],
    [{ ...base, LOOKUP_DEADLINE_MS: '5' }, 'LOOKUP_DEADLINE_MS', 'a whole number from 100 to 60000'],
    [{ B24_UNPROCESSED_USER_ID: '9' }, 'B24_WEBHOOK_URL', 'a Bitrix24 connection'],
    [{ ...base, B24_CLIENT_ID: 'local.x' }, 'B24_WEBHOOK_URL', 'not both'],
    [{ B24_CLIENT_ID: 'local.x', B24_UNPROCESSED_USER_ID: '9' }, 'B24_CLIENT_SECRET', 'client_secret'],
    [{ ...base, B24_WEBHOOK_URL: 'https://p.example/crm' }, 'B24_WEBHOOK_URL', '/rest/<user id>/<secret>/'],
    [{ B24_WEBHOOK_URL: base.B24_WEBHOOK_URL }, 'B24_UNPROCESSED_USER_ID', 'unknown callers'],
    [{ ...base, UCCX_LOOKUP_TOKEN: 'short' }, 'UCCX_LOOKUP_TOKEN', 'at least 8 characters'],
    [{ ...base, TLS_CERT: '/nonexistent.pem' }, 'TLS_KEY', 'set together'],
    [{ ...base, TLS_CERT: '/nonexistent.pem', TLS_KEY: '/nonexistent.key' }, 'TLS_CERT', 'a readable PEM file'],
    [{ ...base, LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'one of fatal'],
    [{ ...base, HOST: '0.0.0.0' }, 'UCCX_LOOKUP_TOKEN', 'listens only on loopback'],
    [{ B24_CLIENT_ID: 'local.x', B24_CLIENT_SECRET: 's', B24_UNPROCESSED_USER_ID: '9', HOST: '127.0.0.1' }, 'B24_PORTAL_URL', 'installs only there'],
    [{ ...base, TRUST_PROXY: 'maybe' }, 'TRUST_PROXY', 'number of proxies'],
  ])('names the bad key: %j', (env, key, expected) => {
    let error: unknown;
    try {
      parseConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
    expect((error as ConfigError).message).toContain(expected);
  });

  it("names every problem at once — each key's form, a misspelled key with the one meant — and then the keys that contradict each other", () => {
    const problems = (src: Record<string, string>) => {
      try {
        parseConfig(src);
      } catch (err) {
        return (err as ConfigError).problems;
      }
      throw new Error('accepted');
    };
    expect(problems({ ...base, PORT: 'eighty', LOOKUP_DEADLINE_MS: '-1', B24_UNPROCESED_USER_ID: '9', FINESSE_URLS: 'https://f.example' })).toEqual([
      expect.stringMatching(/^configuration PORT: expected a whole number/),
      expect.stringMatching(/^configuration LOOKUP_DEADLINE_MS: expected a whole number/),
      'configuration B24_UNPROCESED_USER_ID: expected a known key (docs/configuration.md "Configuration") — did you mean B24_UNPROCESSED_USER_ID?',
      'configuration FINESSE_URLS: expected a known key (docs/configuration.md "Configuration") — did you mean FINESSE_URL?',
    ]);
    // Every key in its form: what contradicts, all of it.
    expect(problems({ B24_CLIENT_ID: 'local.1', PORTAL_TIMEZONE: 'Mars/Olympus', TLS_CERT: '/nowhere.pem', HOST: '0.0.0.0' })).toEqual([
      expect.stringMatching(/^configuration B24_CLIENT_SECRET:/),
      expect.stringMatching(/^configuration B24_PORTAL_URL:/),
      expect.stringMatching(/^configuration B24_UNPROCESSED_USER_ID:/),
      expect.stringMatching(/^configuration TLS_KEY: expected set together/),
      expect.stringMatching(/^configuration TLS_CERT: expected a readable PEM file/),
      expect.stringMatching(/^configuration PORTAL_TIMEZONE:/),
      expect.stringMatching(/^configuration UCCX_LOOKUP_TOKEN:/),
    ]);
    expect(() => parseConfig({ ...base, PORT: 'x', LOG_LEVEL: 'loud' })).toThrow(/^2 configuration problems:\n  configuration PORT: .*\n  configuration LOG_LEVEL: /);
    // Variables of other programs are not ours to judge.
    expect(() => parseConfig({ ...base, PATH: '/bin', FB24_TEST_RUN: 'x', npm_config_cache: '/tmp' })).not.toThrow();
  });

  it('never echoes a secret value in its error', () => {
    expect(() => parseConfig({ ...base, UCCX_LOOKUP_TOKEN: 'a b' })).toThrow('got "***"');
  });

  it('reads a JSON file named by CONFIG_FILE; the environment wins', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'c.json');
    writeFileSync(file, JSON.stringify({ ...base, PORT: 9000, LOOKUP_DEADLINE_MS: 900 }));
    const c = parseConfig(loadSource({ CONFIG_FILE: file, PORT: '9100' }));
    expect([c.port, c.lookupDeadlineMs]).toEqual([9100, 900]);
    writeFileSync(file, JSON.stringify({ PROT: 1 }));
    expect(() => loadSource({ CONFIG_FILE: file })).toThrow('configuration PROT');
  });
});
