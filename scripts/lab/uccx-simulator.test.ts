import { Bitrix24Emulator } from './bitrix24-emulator/server';
import { LAB_UCCX_TOKEN, startStack, type Stack } from './lab-stack';
import { runCallScript, type ScriptSettings } from './uccx-simulator';

describe('UCCX call simulator runs the guide script against the middleware', () => {
  let stack: Stack;
  let settings: ScriptSettings;
  beforeAll(async () => {
    stack = await startStack({ mode: 'app' });
    settings = { middlewareUrl: stack.url, token: LAB_UCCX_TOKEN, timeoutMs: 3000, csq: 'Sales', voicemailPilot: '5999' };
  });
  afterAll(() => stack.stop());

  it('transfers a known caller to the responsible agent who is Ready, with the CRM reference in PV2', async () => {
    const t = await runCallScript('89123456789', settings, { readyExtensions: new Set(['1021']), csqStaffed: true });
    expect(t.outcome).toEqual({ kind: 'agent', target: '1021' });
    expect(t.variables).toEqual({ PeripheralVariable1: '89123456789', PeripheralVariable2: 'CONTACT:42' });
  });

  it('falls to the CSQ when the agent is not Ready, and to voicemail when the CSQ has nobody', async () => {
    const csq = await runCallScript('89123456789', settings, { readyExtensions: new Set(), csqStaffed: true });
    expect(csq.outcome).toEqual({ kind: 'csq', target: 'Sales' });
    const vm = await runCallScript('89123456789', settings, { readyExtensions: new Set(), csqStaffed: false });
    expect(vm.outcome).toEqual({ kind: 'voicemail', target: '5999' });
  });

  it('an unknown caller goes to the queue with the new lead in PV2', async () => {
    const t = await runCallScript('+7 999 500-00-05', settings, { readyExtensions: new Set(['1021']), csqStaffed: true });
    expect(t.outcome.kind).toBe('csq');
    expect(t.variables.PeripheralVariable2).toMatch(/^LEAD:\d+$/);
  });

  it('takes the exception path to the queue when the middleware is unreachable', async () => {
    const dead = new Bitrix24Emulator();
    await dead.start();
    const url = dead.url;
    await dead.stop();
    const t = await runCallScript('89123456789', { ...settings, middlewareUrl: url }, { readyExtensions: new Set(['1021']), csqStaffed: true });
    expect(t.outcome).toEqual({ kind: 'csq', target: 'Sales' });
    expect(t.steps).toContain('LBL_FALLBACK:');
  });
});
