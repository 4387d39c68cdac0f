import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../../testing/wait';
import { FinesseEmulator } from './finesse-emulator';

/** The Finesse emulator's REST subset against the Finesse developer guide's REST API (Dialog, User, errors) and conformance/finesse. */
describe('Finesse emulator REST', () => {
  let f: FinesseEmulator;
  beforeEach(async () => {
    f = new FinesseEmulator(mkdtempSync(join(tmpdir(), 'fe-')));
    f.outbound = { answerAfterMs: 30, talkMs: 30, ringMs: 30, busy: new Set(['84950000486']), noAnswer: new Set() };
    await f.start();
  });
  afterEach(() => f.stop());
  const basic = (u: string, p = 'lab') => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  const req = (method: string, path: string, auth: string, body?: string) =>
    fetch(`${f.url}/finesse/api/${path}`, { method, headers: { authorization: auth, 'content-type': 'application/xml' }, body });
  const makeCall = (from: string, to: string, extra = '') => `<Dialog><requestedAction>MAKE_CALL</requestedAction><fromAddress>${from}</fromAddress><toAddress>${to}</toAddress>${extra}</Dialog>`;
  const errorType = async (res: Response) => /<ErrorType>([^<]*)<\/ErrorType>/.exec(await res.text())?.[1];

  it('GET User: the agent himself only; bad credentials → Authorization Failure', async () => {
    const me = await req('GET', 'User/1001', basic('1001'));
    expect(me.status).toBe(200);
    const user = await me.text();
    expect(user).toContain('<extension>1021</extension>');
    expect(user).toContain('<loginId>1001</loginId>');
    expect(user).toContain('<state>NOT_READY</state>');
    const other = await req('GET', 'User/1002', basic('1001'));
    expect([other.status, await errorType(other)]).toEqual([401, 'Invalid Authorization User Specified']);
    const bad = await req('GET', 'User/1001', basic('1001', 'x'));
    expect([bad.status, await errorType(bad)]).toEqual([401, 'Authorization Failure']);
  });

  it('MAKE_CALL: the documented refusals', async () => {
    const cases: Array<[string, string, string, number, string]> = [
      ['User/1002/Dialogs', basic('1001'), makeCall('1022', '89123456789'), 401, 'Invalid Authorization User Specified'],
      ['User/1001/Dialogs', basic('1001'), '<Dialog><requestedAction>MAKE_CALL</requestedAction></Dialog>', 400, 'Parameter Missing'],
      ['User/1001/Dialogs', basic('1001'), makeCall('1021', '89123456789', '<mediaProperties/>'), 400, 'Invalid Input'],
      ['User/1001/Dialogs', basic('1001'), makeCall('1022', '89123456789'), 400, 'Invalid Input'],
      ['User/1001/Dialogs', basic('1001'), makeCall('1021', '1021'), 400, 'Invalid Destination'],
    ];
    for (const [path, auth, body, status, type] of cases) {
      const res = await req('POST', path, auth, body);
      expect([status, type]).toEqual([res.status, await errorType(res)]);
    }
    f.states.set('1001', 'READY'); // UCCX: only NOT_READY may dial
    const ready = await req('POST', 'User/1001/Dialogs', basic('1001'), makeCall('1021', '89123456789'));
    expect([ready.status, await errorType(ready)]).toEqual([400, 'Invalid State']);
    expect(f.makeCalls).toHaveLength(0);
  });

  it('MAKE_CALL accepted (202) plays the outbound lifecycle; a busy number fails with cause BUSY; PUT User changes state', async () => {
    expect((await req('POST', 'User/1001/Dialogs', basic('1001'), makeCall('1021', '89123456789'))).status).toBe(202);
    expect((await req('POST', 'User/1001/Dialogs', basic('1001'), makeCall('1021', '84950000486'))).status).toBe(202);
    // Each call's Updates (found by its dialog id: the first one, INITIATING, does not name the number yet).
    const steps = (to: string) => {
      const id = f.published
        .map((p) => p.content)
        .find((c) => c.includes(`<toAddress>${to}</toAddress>`))
        ?.match(/<id>(\d+)<\/id>/)?.[1];
      return f.published
        .filter((p) => id && p.content.includes(`<id>${id}</id>`))
        .map((p) => `${/<event>(\w+)<\/event>/.exec(p.content)![1]} ${/<\/participants><state>(\w+)<\/state>/.exec(p.content)![1]} ${/<callType>(\w+)<\/callType>/.exec(p.content)![1]}`);
    };
    await waitFor(() => steps('89123456789').includes('DELETE DROPPED OUT') && steps('84950000486').includes('DELETE DROPPED OUT'), 20000, 'both calls to end');
    // AGENT_INSIDE while inside the switch, reclassified OUT once it leaves (UCCX).
    expect(steps('89123456789')).toEqual(['POST INITIATING AGENT_INSIDE', 'PUT INITIATED AGENT_INSIDE', 'PUT ALERTING OUT', 'PUT ACTIVE OUT', 'PUT DROPPED OUT', 'DELETE DROPPED OUT']);
    expect(steps('84950000486')).toEqual(['POST INITIATING AGENT_INSIDE', 'PUT INITIATED AGENT_INSIDE', 'PUT FAILED OUT', 'PUT DROPPED OUT', 'DELETE DROPPED OUT']);
    expect(f.published.some((p) => p.content.includes('<stateCause>BUSY</stateCause>'))).toBe(true);
    expect((await req('PUT', 'User/1001', basic('1001'), '<User><state>READY</state></User>')).status).toBe(202);
    expect(f.states.get('1001')).toBe('READY');
  });

  it('PUT Dialog: the agent drops his own live call; a missing dialog is 404', async () => {
    f.outbound.answerAfterMs = 50;
    f.outbound.talkMs = 60_000;
    await req('POST', 'User/1001/Dialogs', basic('1001'), makeCall('1021', '89123456789'));
    const d = await waitFor(() => f.liveDialogs('1001').find((x) => x.state === 'ACTIVE'), 20000, 'the call to be answered');
    const drop = await req('PUT', `Dialog/${d!.id}`, basic('1001'), '<Dialog><targetMediaAddress>1021</targetMediaAddress><requestedAction>DROP</requestedAction></Dialog>');
    expect(drop.status).toBe(202);
    expect(f.liveDialogs('1001')).toHaveLength(0);
    const gone = await req('PUT', `Dialog/${d!.id}`, basic('1001'), '<Dialog><requestedAction>DROP</requestedAction></Dialog>');
    expect(gone.status).toBe(404);
  });
});
