import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_UCCX_TOKEN, startStack } from '../../scripts/lab/lab-stack';
import { logSink } from '../../testing/log-sink';
import { uccxLookup } from '../../testing/lookup-client';
import { NodeProcess } from '../../testing/node-process';
import { processSetup, ready, until } from '../middleware-process';

const lines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Logs an operator can read (docs/operations.md): the level changed while it runs, one line per request at debug. */
describe('logs of a running node', () => {
  it('PUT /api/log-level (an operator only) turns on one line per request, its query left out; back again', async () => {
    const sink = logSink();
    const stack = await startStack({ mode: 'webhook', logDestination: sink.stream as never, env: { LOG_LEVEL: 'info' } });
    try {
      const auth = { authorization: `Bearer ${LAB_UCCX_TOKEN}` };
      expect((await fetch(`${stack.url}/api/log-level`)).status).toBe(401);
      expect(await (await fetch(`${stack.url}/api/log-level`, { headers: auth })).json()).toEqual({ level: 'info', configured: 'info' });
      const bad = await fetch(`${stack.url}/api/log-level`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"level":"loud"}' });
      expect([bad.status, await bad.text()]).toEqual([400, 'log level: "level" must be one of fatal, error, warn, info, debug, trace, silent\n']);
      await uccxLookup(stack.url, { ani: '89123456789', token: LAB_UCCX_TOKEN });
      expect(lines(sink.lines.join('')).some((l) => l.msg === 'request')).toBe(false);
      const put = await fetch(`${stack.url}/api/log-level`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"level":"debug"}' });
      expect(await put.json()).toEqual({ level: 'debug', configured: 'info' });
      await uccxLookup(stack.url, { ani: '89123456789', token: LAB_UCCX_TOKEN });
      const got = lines(sink.lines.join(''));
      expect(got).toContainEqual(expect.objectContaining({ level: 20, msg: 'request', method: 'GET', path: '/uccx/lookup', status: 200 }));
      expect(got).toContainEqual(expect.objectContaining({ level: 30, msg: 'call lookup: found', trace: 'lookup', number: '+7912***89' }));
      expect(sink.lines.join('')).not.toContain(LAB_UCCX_TOKEN);
    } finally {
      await stack.stop();
    }
  });

  it('SIGUSR2 switches a running middleware to debug and back', async () => {
    const setup = await processSetup('logs-');
    const log = join(setup.dataDir, 'middleware.log');
    const proc = new NodeProcess('middleware/main.ts', { ...setup.env, PORT: String(setup.port), LOG_LEVEL: 'info' }, log);
    try {
      await ready(setup.url, proc);
      const said = (msg: string, extra: (l: Record<string, unknown>) => boolean = () => true) => lines(readFileSync(log, 'utf8')).filter((l) => l.msg === msg && extra(l)).length;
      process.kill(proc.pid, 'SIGUSR2');
      await until(() => said('log level changed (SIGUSR2)', (l) => l.to === 'debug') === 1, 'the switch to debug');
      await fetch(`${setup.url}/healthz`);
      await until(() => said('request', (l) => l.path === '/healthz') >= 1, 'a request line');
      process.kill(proc.pid, 'SIGUSR2');
      await until(() => said('log level changed (SIGUSR2)', (l) => l.to === 'info') === 1, 'the switch back');
      const before = said('request');
      await fetch(`${setup.url}/healthz`);
      proc.signal('SIGTERM');
      await proc.exited;
      expect(said('request')).toBe(before);
    } finally {
      await proc.stop();
      await setup.emulator.stop();
      rmSync(setup.dataDir, { recursive: true, force: true });
    }
  });
});
