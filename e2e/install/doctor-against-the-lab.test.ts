import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../../scripts/lab/lab-stack';
import { seedConfig } from '../../testing/ccdr-stand-in';
import { SqliteCcdrSource } from '../../middleware/stats/ccdr-source';
import { runDoctor, type DoctorLine } from '../../middleware/doctor/doctor';
import { AppCredentials } from '../../middleware/bitrix24/credentials';
import Database from 'better-sqlite3';

/** `npm run doctor` against the lab's systems: all ok, then each system switched into a failure is named with what to do. */
describe('doctor', () => {
  let stack: Stack;
  let ccdrPath = '';
  /** What UCCX's real-time snapshot writer leaves in db_cra: its two tables, written now (or emptied). */
  const snapshot = (written: boolean) => {
    const db = new Database(ccdrPath);
    db.exec('DELETE FROM rtcsqssummary; DELETE FROM rticdstatistics');
    const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
    if (written) {
      db.prepare(`INSERT INTO rtcsqssummary (csqname, callswaiting, startdatetime, enddatetime) VALUES ('Sales', 0, ?, ?)`).run(now, now);
      db.prepare(`INSERT INTO rticdstatistics (type, callswaiting, startdatetime, enddatetime) VALUES ('Voice', 0, ?, ?)`).run(now, now);
    }
    db.close();
  };
  beforeAll(async () => {
    const gadgetDir = mkdtempSync(join(tmpdir(), 'doc-gadget-'));
    writeFileSync(join(gadgetDir, 'FinesseBitrix24.xml'), '<Module/>');
    const ccdr = join(mkdtempSync(join(tmpdir(), 'doc-ccdr-')), 'db_cra.sqlite');
    ccdrPath = ccdr;
    const s = new SqliteCcdrSource(ccdr, { writable: true });
    seedConfig(s.db);
    await s.close();
    stack = await startStack({ mode: 'app', finesse: { gadgetDir }, env: { CCDR_SQLITE_PATH: ccdr } });
    stack.connector.config.publicUrl = stack.url; // as the lab's install bound the events (http: a warning)
  });
  afterAll(() => stack.stop());

  const by = (lines: DoctorLine[]) => Object.fromEntries(lines.map((l) => [`${l.area}: ${l.check}`, `${l.status}${l.status === 'ok' || l.status === 'off' ? '' : ` ${l.detail} → ${l.fix}`}`]));

  it('the lab: every check ok (the lab serves plain http: that one warns)', async () => {
    snapshot(true);
    const lines = await runDoctor(stack.connector, 'en');
    expect(by(lines)).toEqual({
      'store: the store opens': 'ok',
      'bitrix24: the application is installed': 'ok',
      'bitrix24: Bitrix24 gave the application token (ONAPPINSTALL reached us)': 'ok',
      'bitrix24: the portal answers': 'ok',
      "bitrix24: this server's clock against the portal's": 'ok',
      'bitrix24: the application may call what it needs': 'ok',
      'bitrix24: clicks on numbers come here (ONEXTERNALCALLSTART)': 'ok',
      'bitrix24: the statistics in Telephony → Call statistics (TELEPHONY_ANALYTICS_MENU)': 'ok',
      'bitrix24: our telephony line, and the default for outgoing calls': 'ok',
      'bitrix24: the user for unknown callers (B24_UNPROCESSED_USER_ID)': 'ok',
      "bitrix24: agents' extensions in Bitrix24": 'ok',
      [`finesse: side A (${stack.finesse!.url})`]: 'ok',
      [`finesse: the gadget's files (side A (${stack.finesse!.url}))`]: 'ok',
      'uccx: the UCCX call records': 'ok',
      "uccx: the live queues (UCCX's real-time snapshot)": 'ok',
      "public url: the public address's certificate": expect.stringMatching(/^warn http:\/\/127\.0\.0\.1:\d+ → serve the middleware over https/),
    });
  });

  it("names what is wrong and what to do: a scope left out, our line not the default, the unknown callers' user fired, Finesse side A down", async () => {
    const e = stack.emulator;
    e.scopes.delete('im');
    e.defaultOutgoingLine = 'reg150907';
    e.portal.users.get(9)!.ACTIVE = false;
    stack.finesse!.inService.A = false; // SystemInfo says OUT_OF_SERVICE
    try {
      const got = by(await runDoctor(stack.connector, 'ru'));
      expect(got['bitrix24: приложению разрешено нужное']).toBe('fail нет: im → добавьте недостающие права локальному приложению (Разработчикам → приложение → Права), сохраните и переустановите');
      expect(got['bitrix24: наша линия телефонии и номер по умолчанию для исходящих']).toMatch(/^warn по умолчанию выбрана другая линия: reg150907 → в Битрикс24: Телефония → Настройки/);
      expect(got['bitrix24: пользователь для новых звонящих (B24_UNPROCESSED_USER_ID)']).toMatch(/^fail #9: не активен → /);
      expect(got[`finesse: сторона A (${stack.finesse!.url})`]).toMatch(/^fail OUT_OF_SERVICE → проверьте FINESSE_URL/);
    } finally {
      e.scopes.add('im');
      e.portal.users.get(9)!.ACTIVE = true;
      stack.finesse!.inService.A = true;
    }
  });

  it('names a UCCX that writes no real-time snapshot, with the page and the boxes to tick', async () => {
    snapshot(false);
    expect(by(await runDoctor(stack.connector, 'ru'))['uccx: живые очереди (снимок реального времени UCCX)']).toMatch(
      /^warn UCCX не пишет снимок реального времени \(RtCSQsSummary и RtICDStatistics пусты\) → в Unified CCX Administration, Tools > Real Time Snapshot Config: Data Writing Enable, обе сводки/,
    );
  });

  it("an install whose ONAPPINSTALL never reached us (PUBLIC_URL out of the portal's reach) is named, with what to do", async () => {
    const creds = stack.connector.credentials as AppCredentials;
    const inst = creds.installation()!;
    await creds.save({ ...inst, applicationToken: '' });
    try {
      const got = by(await runDoctor(stack.connector, 'en'));
      expect(got['bitrix24: Bitrix24 gave the application token (ONAPPINSTALL reached us)']).toMatch(
        /^fail not yet: every event is refused until it comes → .*PUBLIC_URL is reachable from the portal/,
      );
    } finally {
      await creds.save(inst);
    }
  });

  it('the same checks on a page inside Bitrix24, for portal administrators only (ru/en)', async () => {
    const open = (user: number, lang: string) =>
      fetch(`${stack.url}/bitrix/app?LANG=${lang}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(stack.emulator.frameForm(user)).toString(),
      });
    // The administrator (user 1; no statistics allow-list here): the checks themselves.
    const page = await (await open(1, 'ru')).text();
    expect(page).toContain('<h1>Проверка подключений</h1>');
    expect(page).toMatch(/<tr data-status="ok"><td>bitrix24<\/td><td>приложение установлено<\/td>/);
    expect(page).toMatch(/<tr data-status="warn"><td>public url<\/td>/);
    const session = /href="\/bitrix\/app\/doctor\?s=([^&]+)&amp;lang=ru"/.exec(page)![1]!;
    expect((await fetch(`${stack.url}/bitrix/app/doctor?s=${session}&lang=en`)).status).toBe(200);
    // Anybody else: refused, and a session of theirs opens no checks either.
    const user = await open(5, 'en');
    expect(user.status).toBe(403);
    const theirs = stack.connector.pageSessions.issue(5);
    const refused = await fetch(`${stack.url}/bitrix/app/doctor?s=${encodeURIComponent(theirs)}&lang=en`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('the connection checks are for portal administrators');
  });

  it('a deleted portal is said as such, and nothing more is asked of it', async () => {
    stack.emulator.switches.portal = 'deleted';
    try {
      const got = by(await runDoctor(stack.connector, 'en'));
      expect(got['bitrix24: the portal answers']).toMatch(/^fail .*PORTAL_DELETED.* → check B24_PORTAL_URL/);
      expect(Object.keys(got).filter((k) => k.startsWith('bitrix24:'))).toEqual([
        'bitrix24: the application is installed',
        'bitrix24: Bitrix24 gave the application token (ONAPPINSTALL reached us)',
        'bitrix24: the portal answers',
      ]);
    } finally {
      stack.emulator.switches.portal = 'ok';
    }
  });
});
