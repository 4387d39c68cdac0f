import { CONFIG_KEYS, type ConfigKey } from './config';

/**
 * The environment file an operator fills in (/etc/finesse-bitrix24/finesse-bitrix24.env in the package): every key
 * of the configuration table, what it is for, its default — generated, so it never drifts from what the code reads.
 * Keys with a default are commented out (the default applies); the ones a site must set are left empty.
 */
const MUST_SET: ConfigKey[] = ['B24_UNPROCESSED_USER_ID', 'UCCX_LOOKUP_TOKEN', 'PUBLIC_URL'];

export function envTemplate(overrides: Partial<Record<ConfigKey, string>> = {}): string {
  const out = [
    '# finesse-bitrix24 configuration: one KEY=value per line (docs/configuration.md "Configuration"; `npm run doctor` checks it).',
    '# Bitrix24: either B24_WEBHOOK_URL, or the local application (B24_CLIENT_ID, B24_CLIENT_SECRET, B24_PORTAL_URL).',
    '',
  ];
  for (const [key, spec] of Object.entries(CONFIG_KEYS) as Array<[ConfigKey, { default?: string; secret?: boolean; doc: string }]>) {
    out.push(`# ${spec.doc}${spec.secret ? ' (secret)' : ''}${spec.default !== undefined ? ` — default: ${spec.default === '' ? '(empty)' : spec.default}` : ''}`);
    const value = overrides[key];
    if (value !== undefined) out.push(`${key}=${value}`);
    else if (spec.default !== undefined || !MUST_SET.includes(key)) out.push(`#${key}=${spec.default ?? ''}`);
    else out.push(`${key}=`);
    out.push('');
  }
  return out.join('\n');
}
