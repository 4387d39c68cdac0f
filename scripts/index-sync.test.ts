import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PhoneIndex } from '../middleware/lookup/phone-index';
import { Bitrix24Emulator } from './lab/bitrix24-emulator/server';
import { middlewareEnv } from './lab/lab-stack';

const run = promisify(execFile);

describe('npm run index-sync', () => {
  it('reads the CRM into the index with a progress bar, and says what it read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'index-sync-'));
    const emulator = new Bitrix24Emulator();
    await emulator.start();
    const env = { PATH: process.env.PATH ?? '', ...middlewareEnv(emulator, 'webhook', join(dir, 'data'), { LOG_LEVEL: 'silent' }) };
    try {
      const out = await run(join(__dirname, '../node_modules/.bin/tsx'), [join(__dirname, 'index-sync.ts')], { env });
      expect(out.stderr).toMatch(/\[#{30}\] leads: IDs \d+\/\d+, \d+ records, \d+ requests/);
      expect(out.stderr).toContain(`phone index complete: ${emulator.portal.entities.size} records`);
      const index = new PhoneIndex(join(dir, 'data', 'phone-index.sqlite'), { countryCode: '7', nationalLength: 10, trunkPrefix: '8', outsidePrefixes: [] });
      const st = index.state();
      index.close();
      expect(st).toMatchObject({ records: emulator.portal.entities.size, users: emulator.portal.users.size, building: null });
      expect(st.gen).toBeGreaterThan(0);
    } finally {
      await emulator.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
