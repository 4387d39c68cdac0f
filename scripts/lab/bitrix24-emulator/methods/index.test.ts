import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { restMethods } from '.';

/** Every file of the middleware that runs in production (tests excluded). */
function productionFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return productionFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The REST methods the middleware names in its code, with `crm.${type}.get`-style names spelled out per CRM type. */
function methodsTheProductCalls(): Set<string> {
  const found = new Set<string>(['scope', 'batch']);
  for (const file of productionFiles(join(__dirname, '../../../../middleware'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/'((?:crm|telephony|user|event|im|voximplant|app|server)\.[a-zA-Z.]+)'/g)) found.add(m[1]!);
    for (const m of text.matchAll(/`crm\.\$\{[^}]+\}\.([a-z]+)`/g)) for (const t of ['lead', 'contact', 'company']) found.add(`crm.${t}.${m[1]}`);
  }
  found.delete('crm.changed'); // the store's channel for CRM changes, not a REST method
  return found;
}

describe('the emulator method table', () => {
  it('answers every REST method the middleware calls (batch is the HTTP side)', () => {
    const called = methodsTheProductCalls();
    expect(called.size).toBeGreaterThan(20);
    const missing = [...called].filter((m) => m !== 'batch' && !restMethods.has(m));
    expect(missing).toEqual([]);
  });
});
