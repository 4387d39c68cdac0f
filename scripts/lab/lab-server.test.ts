import { startLabServer } from './lab-server';
import { startStack, type Stack } from './lab-stack';

describe('lab page server', () => {
  let stack: Stack;
  let lab: Awaited<ReturnType<typeof startLabServer>>;
  beforeAll(async () => {
    stack = await startStack({ mode: 'app' });
    lab = await startLabServer(stack, 0);
  });
  afterAll(async () => {
    lab.server.close();
    await stack.stop();
  });
  const post = (path: string, body: unknown) =>
    fetch(`${lab.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('places a simulated call and reports where it went', async () => {
    const trace = await (await post('/api/call', { ani: '89123456789' })).json();
    expect(trace).toMatchObject({ outcome: { kind: 'agent', target: '1021' }, lookup: { status: 'found', crmRef: 'CONTACT:42' } });
  });

  it('a reload shows the switches as they are', async () => {
    await post('/api/switches', { ready: ['1022'], outage: 'error', latencyMs: 500, csqStaffed: false });
    const html = await (await fetch(`${lab.url}/?lang=ru`)).text();
    expect(html).toContain('<html lang="ru">');
    expect(html).toContain('value="1021"> 1021');
    expect(html).toContain('value="1022" checked> 1022');
    expect(html).toContain('<option value="error" selected>');
    expect(html).toContain('<option value="500" selected>');
    expect(html).toContain('id="csq"> ');
    const trace = await (await post('/api/call', { ani: '84951112233' })).json(); // not cached yet
    expect(trace.outcome).toEqual({ kind: 'voicemail', target: '5999' });
    expect(trace.lookup).toMatchObject({ status: 'degraded', reason: 'bitrix24_unavailable' });
  });
});
