import { DOMParser } from '@xmldom/xmldom';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FinesseEmulator } from '../../scripts/lab/finesse/finesse-emulator';
import { Dialer, type DialCommand } from './dialer';

const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
const cmd = (whenReady: 'switch' | 'refuse' = 'switch'): DialCommand => ({ id: 'c1', callId: 'externalCall.x', toAddress: '89123456789', whenReady, reasonCodeId: null });

/** The gadget's dialer against the Finesse emulator's REST API, over HTTP. */
describe('Dialer', () => {
  let finesse: FinesseEmulator;
  beforeEach(async () => {
    finesse = new FinesseEmulator(mkdtempSync(join(tmpdir(), 'fe-')));
    await finesse.start();
  });
  afterEach(() => finesse.stop());
  const dialer = (pw = 'lab') => new Dialer({ baseUrl: finesse.url, authorization: basic('1001', pw), agentId: '1001' }, fetch, parse, async () => undefined);

  it("dials from NOT_READY with the agent's extension", async () => {
    await expect(dialer().dial(cmd())).resolves.toEqual({ ok: true });
    expect(finesse.makeCalls).toEqual([{ agent: '1001', toAddress: '89123456789', at: expect.any(Number), side: 'A' }]);
  });

  it('switches a READY agent to NOT_READY first, or refuses when told to', async () => {
    finesse.states.set('1001', 'READY');
    await expect(dialer().dial(cmd('refuse'))).resolves.toEqual({ ok: false, code: 'agent_busy', reason: 'the agent is READY; set Not Ready to dial', state: 'READY' });
    expect(finesse.makeCalls).toHaveLength(0);
    await expect(dialer().dial(cmd('switch'))).resolves.toEqual({ ok: true });
    expect(finesse.states.get('1001')).toBe('NOT_READY');
  });

  it("refuses while the agent talks, and reports Finesse's own reason when it refuses", async () => {
    finesse.states.set('1001', 'TALKING');
    await expect(dialer().dial(cmd())).resolves.toEqual({ ok: false, code: 'agent_busy', reason: 'the agent is TALKING', state: 'TALKING' });
    await expect(dialer('wrong').dial(cmd())).resolves.toEqual({ ok: false, code: 'finesse_refused', reason: 'Authorization Failure: Unauthorized (HTTP 401)' });
  });
});
