import { readFileSync } from 'node:fs';
import { CONFIG_KEYS } from '../middleware/config';
import { configTable, DOC, withTable } from './config-reference';

describe('the configuration reference (docs/configuration.md)', () => {
  const doc = readFileSync(DOC, 'utf8');
  it('is the table generated from the configuration the middleware reads (npm run docs:config)', () => {
    expect(doc).toBe(withTable(doc));
  });
  it('lists every key, secrets marked', () => {
    for (const key of Object.keys(CONFIG_KEYS)) expect(configTable()).toContain(`| \`${key}\``);
    expect(configTable()).toContain('| `B24_CLIENT_SECRET` ● |');
  });
});
