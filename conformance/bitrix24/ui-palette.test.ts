import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The pages inside Bitrix24 use the UI Kit's colors only (b24style's palette, saved in ui/b24style-palette.txt). */
describe("the pages' colors are the Bitrix24 UI Kit's", () => {
  const palette = new Set([...readFileSync(join(__dirname, 'ui', 'b24style-palette.txt'), 'utf8').matchAll(/#[0-9a-f]{6}\b/gi)].map((m) => m[0].toLowerCase()));
  it.each(['middleware/stats/report-page.ts', 'middleware/stats/live-page.ts', 'middleware/doctor/doctor-page.ts', 'middleware/trace/trace-page.ts'])('%s', (file) => {
    const colors = [...readFileSync(join(__dirname, '..', '..', file), 'utf8').matchAll(/#[0-9a-f]{3,6}\b/gi)].map((m) => m[0].toLowerCase());
    for (const c of colors) expect([c, palette.has(c)]).toEqual([c, true]);
  });
  it('reads the palette (the check itself)', () => expect(palette.size).toBeGreaterThan(30));
});
