import { timelineText } from '../middleware/trace/timeline';
import { coreOrExplain, runCli } from './cli';

/**
 * `npm run trace -- <number|UCCX call id|Finesse dialog id|Bitrix24 CALL_ID> [--lang ru|en]`
 * (`finesse-bitrix24 trace …`): one call's steps from the store of the middleware with the same configuration —
 * the lookup, the pop, the reports, the register and the finish — and where it stopped. Exit 0 found, 1 nothing
 * found, 2 usage or configuration.
 */
async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const langAt = args.indexOf('--lang');
  const lang = langAt >= 0 ? args.splice(langAt, 2)[1] : undefined;
  const query = args.join(' ').trim();
  if (!query || (lang !== undefined && lang !== 'ru' && lang !== 'en')) {
    process.stderr.write('usage: trace <number | UCCX call id | Finesse dialog id | Bitrix24 CALL_ID> [--lang ru|en]\n');
    return 2;
  }
  const core = await coreOrExplain();
  if (!core) return 2;
  try {
    const steps = await core.trace.find(query);
    process.stdout.write(timelineText(steps, (lang as 'ru' | 'en' | undefined) ?? core.config.uiLanguage, core.config.stats.timeZone));
    return steps.length ? 0 : 1;
  } finally {
    await core.close(0);
  }
}

runCli('trace', main);
