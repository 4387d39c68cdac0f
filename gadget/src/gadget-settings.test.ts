import { configFromPrefs, gadgetParams, readSettings, SettingsError } from './gadget-settings';

describe('gadget settings', () => {
  it('reads the gadget URL parameters carried in the desktop iframe URL, the gadget URL winning', () => {
    const gadgetUrl = 'https://finesse:8445/3rdpartygadget/files/fb24/FinesseBitrix24.xml?middleware=https%3A%2F%2Fmw%3A8443&crm=https%3A%2F%2Fcrm.example&trigger=ACTIVE';
    const p = gadgetParams({ search: `?url=${encodeURIComponent(gadgetUrl)}&lang=ru&trigger=ALERTING` });
    expect(Object.fromEntries(p)).toMatchObject({ middleware: 'https://mw:8443', crm: 'https://crm.example', trigger: 'ACTIVE', lang: 'ru' });
  });

  it('builds the settings with defaults', () => {
    const s = readSettings(
      new URLSearchParams('middleware=https://mw:8443/&crm=https://crm.example'),
      { id: '1001', extension: '1021', authorization: 'MTAwMTpsYWI=', host: 'finesse', hostPort: '8445' },
      'https://x',
    );
    expect(s).toEqual({
      agentId: '1001',
      extension: '1021',
      middlewareUrl: 'https://mw:8443',
      pop: { crmBaseUrl: 'https://crm.example', entityVariable: 'callVariable2', phoneVariable: 'callVariable1', scriptUrlTemplate: '', internalMaxDigits: 6 },
      trigger: 'ALERTING',
      inbound: true,
      outbound: false,
      finesse: { baseUrl: 'https://finesse:8445', authorization: 'Basic MTAwMTpsYWI=' },
      calls: true,
    });
  });

  it.each([
    ['crm=https://crm.example', { id: '1' }, 'missing parameter "middleware"'],
    ['middleware=https://mw', { id: '1' }, 'missing parameter "crm"'],
    ['middleware=javascript:alert(1)&crm=https://c', { id: '1' }, 'parameter "middleware" must be http(s)'],
    ['middleware=https://mw&crm=https://c&trigger=LATER', { id: '1' }, 'parameter "trigger" must be ALERTING or ACTIVE'],
    ['middleware=https://mw&crm=https://c', {}, 'missing the agent id'],
  ])('rejects %s', (query, config, message) => {
    expect(() => readSettings(new URLSearchParams(query), config, 'https://x')).toThrow(SettingsError);
    expect(() => readSettings(new URLSearchParams(query), config, 'https://x')).toThrow(message);
  });

  it('takes the agent id from the base64 authorization pref when the desktop gives no id pref', () => {
    const prefs = { getString: (n: string) => ({ authorization: 'YWdlbnQxOnNlY3JldA==', extension: '1021' })[n] ?? '', getLang: () => 'ru' };
    expect(configFromPrefs(prefs)).toMatchObject({ id: 'agent1', extension: '1021', locale: 'ru' });
  });

  it('under SSO sends the desktop token as Bearer and never decodes it for the id', () => {
    const prefs = { getString: (n: string) => ({ authorization: 'eyJhbGciOi.token', systemAuthMode: 'SSO', id: '1001', extension: '1021' })[n] ?? '', getLang: () => 'en' };
    const config = configFromPrefs(prefs);
    expect(config).toMatchObject({ id: '1001', systemAuthMode: 'SSO' });
    const s = readSettings(new URLSearchParams({ middleware: 'https://mw', crm: 'https://crm' }), { ...config, host: 'finesse', hostPort: '8445' }, 'https://finesse:8445');
    expect(s.finesse).toEqual({ baseUrl: 'https://finesse:8445', authorization: 'Bearer eyJhbGciOi.token' });
  });
});
