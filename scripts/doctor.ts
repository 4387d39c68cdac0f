import { ConfigError, loadSource, parseConfig } from '../middleware/config';
import { Core } from '../middleware/core';
import { runDoctor, type DoctorLine } from '../middleware/doctor/doctor';
import type { DoctorLang } from '../middleware/doctor/doctor-text';
import { runCli } from './cli';

/**
 * `npm run doctor [-- --lang ru|en]`: checks, with the service's own configuration, every connection the product
 * needs — the configuration as a whole first (every problem at once), then the store, Bitrix24, Finesse, the UCCX
 * call records and the public address — and says for each ok / what is wrong / what to do. Read-only; safe to run
 * beside the service. Exit code 0 all ok (or warnings only), 1 a check failed, 2 the configuration is not usable.
 */
const MARK: Record<DoctorLine['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', off: 'off ' };

export function formatLines(lines: DoctorLine[]): string {
  return lines.map((l) => `${MARK[l.status]}  ${l.area}: ${l.check} — ${l.detail}${l.fix && l.status !== 'ok' ? `\n      → ${l.fix}` : ''}`).join('\n');
}

async function main(): Promise<number> {
  const i = process.argv.indexOf('--lang');
  const asked = i >= 0 ? process.argv[i + 1] : undefined;
  let core: Core;
  try {
    const config = parseConfig(loadSource());
    core = new Core(config, undefined, { reportsRefusals: false });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stdout.write(`FAIL  configuration:\n  ${err.problems.join('\n  ')}\n`);
    return 2;
  }
  try {
    const lang: DoctorLang = asked === 'ru' || asked === 'en' ? asked : core.config.uiLanguage;
    const lines = await runDoctor(core, lang);
    process.stdout.write(`ok    configuration\n${formatLines(lines)}\n`);
    return lines.some((l) => l.status === 'fail') ? 1 : 0;
  } finally {
    await core.close(0);
  }
}

if (require.main === module) runCli('doctor', main);
