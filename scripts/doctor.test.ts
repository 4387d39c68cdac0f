import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from './lab/lab-stack';
import { runMarker } from '../testing/node-process';

/** `npm run doctor` as an integrator runs it: the service's environment, a line per check, the exit code. */
describe('npm run doctor', () => {
  const run = (env: Record<string, string>, args: string[] = []) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', join(__dirname, 'doctor.ts'), ...args], { env: { PATH: process.env.PATH ?? '', ...runMarker(), ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });

  it('a configuration with several problems: every one named at once, exit 2', async () => {
    const r = await run({ B24_WEBHOOK_URL: 'https://p.example/rest/1/s3cretsecret/', B24_UNPROCESED_USER_ID: '9', PORT: 'eighty', HOST: '127.0.0.1' });
    expect(r.code).toBe(2);
    expect(r.out).toContain('FAIL  configuration:');
    expect(r.out).toContain('configuration PORT: expected a whole number from 0 to 65535, got "eighty"');
    expect(r.out).toContain('configuration B24_UNPROCESED_USER_ID: expected a known key (docs/configuration.md "Configuration") — did you mean B24_UNPROCESSED_USER_ID?');
    expect(r.out).not.toContain('s3cretsecret');
  });

  it('against the lab (webhook mode, no Finesse): ok lines, what is off said as off, exit 0', async () => {
    const stack = await startStack({ mode: 'webhook', dataDir: mkdtempSync(join(tmpdir(), 'doc-')) });
    try {
      const r = await run({ ...stack.env, DATA_DIR: mkdtempSync(join(tmpdir(), 'doc-data-')) }, ['--lang', 'en']);
      expect(r.out).toContain('ok    configuration');
      expect(r.out).toMatch(/^ok {4}bitrix24: the portal answers — server\.time /m);
      expect(r.out).toMatch(/^off {3}finesse: Finesse — FINESSE_URL is not set/m);
      expect(r.code).toBe(0);
    } finally {
      await stack.stop();
    }
  });
});
