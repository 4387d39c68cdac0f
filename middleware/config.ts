import { readFileSync } from 'node:fs';
import { isTimeZone } from './stats/period';
import { NamedError } from '../protocol/named-error';

/**
 * The configuration keys are a public contract (docs/configuration.md, generated from this table).
 * One table drives parsing, validation, secret redaction and the configuration reference (scripts/config-reference.ts).
 * Longer than our usual file on purpose: the table is the contract, and one file keeps it and its reading together.
 */
type Kind =
  | { type: 'int'; min: number; max: number }
  | { type: 'string'; pattern?: RegExp; hint?: string }
  | { type: 'url' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'bool' }
  | { type: 'list' }
  | { type: 'urls'; max: number };

interface KeySpec {
  kind: Kind;
  default?: string;
  secret?: boolean;
  doc: string;
}

export const CONFIG_KEYS = {
  PORT: { kind: { type: 'int', min: 0, max: 65535 }, default: '8080', doc: 'HTTP(S) port of the middleware' },
  HOST: { kind: { type: 'string' }, default: '0.0.0.0', doc: 'address to listen on' },
  DATA_DIR: {
    kind: { type: 'string' },
    default: './data',
    doc: "folder of the embedded store (SQLite: outbox, tokens); back it up, one middleware per folder. With `DATABASE_URL` it keeps only the node's local caches (phone index, statistics rollup)",
  },
  DATABASE_URL: {
    kind: { type: 'string', pattern: /^postgres(ql)?:\/\/\S+$/, hint: 'postgres://user:password@host:5432/database' },
    secret: true,
    doc: 'put the store on PostgreSQL instead of DATA_DIR: set the same URL on every middleware node of a pair (docs/high-availability.md); the phone index and the statistics rollup stay local files in DATA_DIR',
  },
  TLS_CERT: { kind: { type: 'string' }, doc: 'PEM certificate path; with `TLS_KEY` the middleware serves HTTPS' },
  TLS_KEY: { kind: { type: 'string' }, doc: 'PEM private key path; with TLS_CERT serves HTTPS' },
  TRUST_PROXY: {
    kind: { type: 'string', pattern: /^(true|false|yes|no|[0-9])$/i, hint: 'false, true (one proxy) or the number of proxies in front' },
    default: 'false',
    doc: 'behind reverse proxies: `true` (one) or their number; the client address is then the one the nearest proxy appended to `X-Forwarded-For` (what a client writes there itself is ignored) — for `UCCX_ALLOWED_IPS` and the logs',
  },
  LOG_LEVEL: {
    kind: { type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    doc: '`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`',
  },
  UI_LANGUAGE: { kind: { type: 'enum', values: ['ru', 'en'] }, default: 'ru', doc: 'language of texts written into Bitrix24 (lead titles): `ru` or `en`' },
  B24_WEBHOOK_URL: { kind: { type: 'url' }, secret: true, doc: 'incoming webhook `https://<portal>/rest/<user>/<secret>/` (webhook mode)' },
  B24_CLIENT_ID: { kind: { type: 'string' }, doc: 'local application client_id (application mode)' },
  B24_CLIENT_SECRET: { kind: { type: 'string' }, secret: true, doc: 'local application client_secret (application mode)' },
  B24_PORTAL_URL: {
    kind: { type: 'url' },
    doc: 'the only portal allowed to install the application, e.g. `https://company.bitrix24.ru`; installs, events and REST calls go to it, never to an address a request names',
  },
  B24_OAUTH_URL: {
    kind: { type: 'url' },
    default: 'https://oauth.bitrix.info/oauth/token/',
    doc: 'the Bitrix24 OAuth token endpoint (our `client_secret` goes there on a refresh; an on-premise Bitrix24 has its own)',
  },
  FINESSE_LOCKOUT_THRESHOLD: {
    kind: { type: 'int', min: 0, max: 100 },
    default: '5',
    doc: "failed sign-ins after which Finesse locks an account (as configured in Finesse; `0` = lockout off): agent sessions stop forwarding an account's sign-ins two refusals before it",
  },
  B24_UNPROCESSED_USER_ID: { kind: { type: 'int', min: 1, max: 2147483647 }, doc: 'Bitrix24 user who owns leads of unknown callers' },
  B24_RATE_PER_SEC: { kind: { type: 'int', min: 1, max: 1000 }, default: '2', doc: "the portal's REST rate (Enterprise plans: `5`; on-premise Bitrix24 without limits: raise it)" },
  B24_RATE_BURST: { kind: { type: 'int', min: 1, max: 100000 }, default: '50', doc: 'leaky bucket size of the portal plan' },
  B24_REQUEST_TIMEOUT_MS: { kind: { type: 'int', min: 100, max: 120000 }, default: '10000', doc: 'deadline of one HTTP request to Bitrix24' },
  B24_WRITE_SETTLE_MS: {
    kind: { type: 'int', min: 0, max: 3600000 },
    default: '60000',
    doc: 'after a lead creation whose answer never came (timeout, cut connection, crash), how long to let Bitrix24 finish it before looking for it by its `ORIGIN_ID` and number; it is never sent again meanwhile',
  },
  LOOKUP_DEADLINE_MS: { kind: { type: 'int', min: 100, max: 60000 }, default: '1500', doc: 'the lookup always answers within this time; set the UCCX step timeout above it' },
  LOOKUP_CACHE_TTL_S: { kind: { type: 'int', min: 0, max: 86400 }, default: '60', doc: 'how long an answer for a number is reused (0 = no cache)' },
  PHONE_INDEX_SYNC_S: {
    kind: { type: 'int', min: 0, max: 604800 },
    default: '0',
    doc: "keep a local index of the CRM's phone numbers, read in full at start and every this many seconds: known callers are routed with no REST request, also while Bitrix24 is down (0: off)",
  },
  PHONE_INDEX_EVENTS: {
    kind: { type: 'enum', values: ['handler', 'offline'] },
    default: 'handler',
    doc: 'how CRM changes reach the phone index (application mode): `handler` — Bitrix24 posts them to PUBLIC_URL; `offline` — Bitrix24 queues them and the middleware reads the queue every 10 s (event.offline.get), for a middleware Bitrix24 cannot reach',
  },
  TRACE_KEEP_DAYS: {
    kind: { type: 'int', min: 0, max: 90 },
    default: '7',
    doc: 'how many days the steps of each call (lookup, pop, report, register, finish, missed call, click) are kept in the store for `trace` and the trace page; 0 keeps none (the log lines stay)',
  },
  LOG_NUMBERS: {
    kind: { type: 'enum', values: ['masked', 'full'] },
    default: 'masked',
    doc: "callers' numbers in the log lines of each call: `masked` (+7912***89) or `full`; the store keeps them whole for `trace`",
  },
  USER_CACHE_TTL_S: { kind: { type: 'int', min: 0, max: 86400 }, default: '300', doc: 'how long a Bitrix24 user (active, extension) is cached' },
  UCCX_LOOKUP_TOKEN: {
    kind: { type: 'string', pattern: /^\S{8,}$/, hint: 'at least 8 characters, no spaces' },
    secret: true,
    doc: 'token the UCCX script sends as `token` to `/uccx/lookup` (≥ 8 characters); required unless `HOST` is a loopback address (then only this machine reaches the middleware)',
  },
  FINESSE_ORIGINS: {
    kind: { type: 'list' },
    default: '',
    doc: 'comma-separated origins of the Finesse desktop (e.g. `https://finesse1.example.com:8445`) whose gadget may call `/api/*` (CORS); others get no CORS headers',
  },
  UCCX_ALLOWED_IPS: { kind: { type: 'list' }, doc: 'comma-separated client IPs allowed to call /uccx/lookup (empty: any)' },
  PHONE_COUNTRY_CODE: { kind: { type: 'string', pattern: /^[1-9]\d{0,2}$/, hint: '1 to 3 digits' }, default: '7', doc: 'country code added to national numbers' },
  PHONE_NATIONAL_LENGTH: { kind: { type: 'int', min: 4, max: 14 }, default: '10', doc: 'digits of a national number without trunk prefix' },
  PHONE_TRUNK_PREFIX: { kind: { type: 'string', pattern: /^\d{0,2}$/, hint: '0 to 2 digits' }, default: '8', doc: 'national trunk prefix (`8` in Russia, `0` in most of Europe, empty for none)' },
  PHONE_OUTSIDE_PREFIXES: { kind: { type: 'list' }, default: '', doc: 'comma-separated outside-line prefixes CUCM may leave in front of the ANI, e.g. `9`' },
  CCDR_SQLITE_PATH: { kind: { type: 'string' }, doc: 'the UCCX call records as a SQLite file (db_cra stand-in; lab, demos, CCDR exports)' },
  CCDR_ODBC_CONNECTION: {
    kind: { type: 'string' },
    secret: true,
    doc: 'ODBC connection string to UCCX `db_cra` (Informix), read-only user such as `uccxhruser`; in an HA pair the standby node (Cisco: report from the standby)',
  },
  CCDR_ODBC_CONNECTION_2: {
    kind: { type: 'string' },
    secret: true,
    doc: "the other node's `db_cra` in a UCCX HA pair: statements move there while the first cannot be reached, and back once it answers (tried first again each minute)",
  },
  CCDR_QUERY_TIMEOUT_MS: { kind: { type: 'int', min: 1000, max: 300000 }, default: '15000', doc: 'longest a statistics query (and an ODBC login) may take before 503' },
  PORTAL_TIMEZONE: { kind: { type: 'string' }, default: 'Europe/Moscow', doc: "the portal's IANA time zone: days and hours of the statistics" },
  MISSED_CALLS_POLL_S: { kind: { type: 'int', min: 0, max: 86400 }, default: '60', doc: 'how often abandoned UCCX calls are logged in Bitrix24 as missed calls (`0`: off); needs call records' },
  MISSED_CALLS_SHORT_S: {
    kind: { type: 'int', min: 0, max: 3600 },
    default: '5',
    doc: 'a missed call shorter than this (a hang-up during the greeting) is logged on an existing record but creates no lead (0: every one does)',
  },
  MISSED_CALLS_LOOKBACK_S: {
    kind: { type: 'int', min: 0, max: 86400 },
    default: '600',
    doc: 'how far back each poll reads again, for call records UCCX (or the standby node) writes late; logging stays exactly once',
  },
  STATS_ROLLUP_REFRESH_S: {
    kind: { type: 'int', min: 0, max: 86400 },
    default: '300',
    doc: 'how often settled days of the call records are summed into the statistics rollup (`DATA_DIR/stats-rollup.sqlite`); `0`: off, every report reads the call records',
  },
  LIVE_INTERVAL_S: {
    kind: { type: 'enum', values: ['0', '5', '10', '15', '20', '25', '30', '60', '90', '120', '150', '180'] },
    default: '5',
    doc: "UCCX's Data Writing Interval (Tools > Real Time Snapshot Config): the live queues are read from db_cra at this interval, once for every viewer; `0`: no live view; needs call records",
  },
  LIVE_ODBC_CONNECTION: {
    kind: { type: 'string' },
    secret: true,
    doc: "ODBC connection string for the live queues with UCCX's read-only wallboard user `uccxwallboard` (SELECT on RtCSQsSummary and RtICDStatistics only); default: CCDR_ODBC_CONNECTION",
  },
  LIVE_ODBC_CONNECTION_2: {
    kind: { type: 'string' },
    secret: true,
    doc: "the other node's `db_cra` for the live queues in a UCCX HA pair (as CCDR_ODBC_CONNECTION_2)",
  },
  STATS_ALLOWED_USERS: { kind: { type: 'list' }, default: '', doc: 'Bitrix24 user ids who may open the statistics page' },
  STATS_ALLOWED_DEPARTMENTS: { kind: { type: 'list' }, default: '', doc: 'Bitrix24 department ids whose members may open the statistics page' },
  STATS_API_TOKEN: {
    kind: { type: 'string', pattern: /^\S{8,}$/, hint: 'at least 8 characters, no spaces' },
    secret: true,
    doc: 'bearer token of `/api/stats/*` (≥ 8 characters); unset = statistics API off',
  },
  PUBLIC_URL: { kind: { type: 'url' }, doc: "address at which Bitrix24 reaches the middleware (its event handler); default: the middleware's own listening address (never a request's Host)" },
  B24_LINE_NUMBER: {
    kind: { type: 'string', pattern: /^[\w.-]{1,50}$/, hint: '1 to 50 letters, digits, dots or dashes' },
    default: 'finesse',
    doc: 'number of the external line the application adds in Bitrix24 (choose it as the default for outgoing calls)',
  },
  B24_SHOW_CALL_CARD: { kind: { type: 'bool' }, default: 'false', doc: "also pop Bitrix24's own call card in the agent's Bitrix24 tab during inbound calls" },
  FINESSE_URL: {
    kind: { type: 'urls', max: 2 },
    doc: "Finesse REST base of each node, comma-separated (side A, side B of a UCCX HA pair), e.g. `https://finesse1.example.com:8445,https://finesse2.example.com:8445`: checks an agent's sign-in when his gadget opens its session, on the side that is IN_SERVICE; unset = click-to-dial and call logging off",
  },
  AGENT_EXTENSIONS: { kind: { type: 'list' }, default: '', doc: "Bitrix24 user → Finesse extension overrides, e.g. `5:1021,6:1022` (else the user's internal number UF_PHONE_INNER)" },
  DIAL_OUTSIDE_PREFIX: { kind: { type: 'string', pattern: /^[0-9*#]{0,4}$/, hint: '0 to 4 digits' }, default: '', doc: 'outside-line prefix dialled before external numbers, e.g. `9`' },
  DIAL_INTERNATIONAL_PREFIX: {
    kind: { type: 'string', pattern: /^\d{1,4}$/, hint: '1 to 4 digits' },
    default: '810',
    doc: 'international call prefix of the dial plan (`810` in Russia, `00` in most of Europe)',
  },
  DIAL_WHEN_READY: {
    kind: { type: 'enum', values: ['switch', 'refuse'] },
    default: 'switch',
    doc: 'UCCX dials only from NOT_READY: `switch` the agent to NOT_READY first, or `refuse` the click with a message',
  },
  DIAL_NOT_READY_REASON_ID: { kind: { type: 'int', min: 1, max: 2147483647 }, doc: 'reason code id used when switching an agent to NOT_READY to dial (when reason codes are mandatory)' },
  DIAL_RESULT_TIMEOUT_MS: {
    kind: { type: 'int', min: 1000, max: 60000 },
    default: '8000',
    doc: "how long a click waits for the agent's gadget to report the MAKE_CALL outcome before it fails visibly",
  },
  CLICK_PROOF_WINDOW_S: {
    kind: { type: 'int', min: 5, max: 300 },
    default: '30',
    doc: 'how long a click is held while Bitrix24 is too busy (or failing) to confirm it with `user.current`; then it is finished `503` with the reason and the user told (5–300)',
  },
  CALL_FINISH_SETTLE_MS: {
    kind: { type: 'int', min: 0, max: 60000 },
    default: '3000',
    doc: "how long a call's finish waits after its end was reported, for the agent's other tabs to report theirs (earliest answer, latest end)",
  },
  SHUTDOWN_GRACE_MS: { kind: { type: 'int', min: 0, max: 120000 }, default: '10000', doc: 'time to finish requests and flush the outbox on SIGTERM' },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** The shared store on PostgreSQL; null: the embedded SQLite store in dataDir. */
  databaseUrl: string | null;
  tls: { cert: string; key: string } | null;
  /** Reverse proxies in front: the client address is the one the nearest proxy appended (0: no proxy). */
  proxyHops: number;
  logLevel: string;
  uiLanguage: 'ru' | 'en';
  bitrix24: { mode: 'webhook'; webhookUrl: string } | { mode: 'app'; clientId: string; clientSecret: string; portalUrl: string; oauthUrl: string };
  unprocessedUserId: number;
  rate: { perSecond: number; burst: number };
  requestTimeoutMs: number;
  writeSettleMs: number;
  lookupDeadlineMs: number;
  lookupCacheTtlMs: number;
  trace: { keepMs: number; numbers: 'masked' | 'full' };
  userCacheTtlMs: number;
  uccxToken: string | null;
  uccxAllowedIps: string[];
  finesseOrigins: string[];
  finesseLockoutThreshold: number;
  phone: { countryCode: string; nationalLength: number; trunkPrefix: string; outsidePrefixes: string[] };
  shutdownGraceMs: number;
  publicUrl: string | null;
  line: { number: string; showCard: boolean };
  /** Both sides of a UCCX HA pair, or one; empty: click-to-dial and call logging are off. */
  finesseUrls: string[];
  /** 0: no local phone index. */
  phoneIndexSyncMs: number;
  /** How CRM changes reach the index: posted to our handler, or queued at Bitrix24 and read by us. */
  phoneIndexEvents: 'handler' | 'offline';
  /** Bitrix24 user id → Finesse extension, where UF_PHONE_INNER does not tell. */
  agentExtensions: Record<number, string>;
  dial: { outsidePrefix: string; internationalPrefix: string; whenReady: 'switch' | 'refuse'; notReadyReasonId: number | null; resultTimeoutMs: number; proofWindowMs: number };
  /** How long a call's finish waits for the agent's other tabs' reports of the same dialog. */
  finishSettleMs: number;
  stats: {
    source: { kind: 'sqlite'; path: string } | { kind: 'odbc'; connections: string[] } | null;
    queryTimeoutMs: number;
    timeZone: string;
    token: string | null;
    allowed: { users: number[]; departments: number[] };
    missedPollMs: number;
    missedShortS: number;
    missedLookbackMs: number;
    /** 0: no rollup, every report reads the call records. */
    rollupRefreshMs: number;
    /** UCCX's real-time snapshot interval; 0: no live view. */
    liveIntervalS: number;
    /** The live queues' own connections (uccxwallboard); null: the call records' source. */
    liveSource: { kind: 'odbc'; connections: string[] } | null;
  };
  /** Every secret value, so the logger can scrub it from any line. */
  secrets: string[];
}

export class ConfigError extends NamedError {
  /** Every problem found, one line each (one, unless `ConfigError.many` gathered several). */
  readonly problems: string[];
  constructor(
    readonly key: string,
    expected: string,
    got?: string,
  ) {
    super(`configuration ${key}: expected ${expected}${got === undefined ? '' : `, got "${got}"`}`);
    this.problems = [this.message];
  }

  /** Several problems said at once: an integrator fixes the whole file in one go, not one key per start. */
  static many(errors: ConfigError[]): ConfigError {
    if (errors.length === 1) return errors[0]!;
    const all = new ConfigError(errors[0]!.key, '');
    const problems = errors.flatMap((e) => e.problems);
    all.message = `${problems.length} configuration problems:\n  ${problems.join('\n  ')}`;
    (all as { problems: string[] }).problems = problems;
    return all;
  }
}

/** The prefixes of our keys (B24_, UCCX_, FINESSE_…): a variable with one of them that is no key is a misspelling. */
const OUR_PREFIXES = new Set(
  Object.keys(CONFIG_KEYS)
    .filter((k) => k.includes('_'))
    .map((k) => k.split('_')[0]!),
);

/** Edit distance, for "did you mean": written here because it is ten lines and used once. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** Variables that look like ours but are not a key (a misspelled one is silently ignored otherwise). */
function unknownKeys(src: Source): ConfigError[] {
  return Object.keys(src)
    .filter((k) => k.includes('_') && OUR_PREFIXES.has(k.split('_')[0]!) && !(k in CONFIG_KEYS) && src[k] !== undefined)
    .sort()
    .map((k) => {
      const near = Object.keys(CONFIG_KEYS).sort((a, b) => distance(k, a) - distance(k, b))[0]!;
      return new ConfigError(k, `a known key (docs/configuration.md "Configuration")${distance(k, near) <= 3 ? ` — did you mean ${near}?` : ''}`);
    });
}

type Source = Record<string, string | undefined>;

/** Environment wins over the optional JSON file named by CONFIG_FILE. */
export function loadSource(env: Source = process.env): Source {
  const file = env.CONFIG_FILE;
  if (!file) return env;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError('CONFIG_FILE', 'a readable JSON object file', `${file}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('CONFIG_FILE', 'a JSON object of KEY: value', file);
  }
  const merged: Source = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!(k in CONFIG_KEYS)) throw new ConfigError(k, `a known key (docs/configuration.md), in ${file}`);
    merged[k] = String(v);
  }
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;
  return merged;
}

function raw(src: Source, key: ConfigKey): string | undefined {
  const spec: KeySpec = CONFIG_KEYS[key];
  const v = src[key];
  return v === undefined || v === '' ? spec.default : v;
}

function shown(key: ConfigKey, value: string): string {
  const spec: KeySpec = CONFIG_KEYS[key];
  return spec.secret ? '***' : value;
}

function httpUrl(key: ConfigKey, v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(key, 'an absolute http(s) URL', shown(key, v));
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(key, 'an http(s) URL', shown(key, v));
  return v;
}

function parseValue(src: Source, key: ConfigKey): string | number | boolean | string[] | undefined {
  const v = raw(src, key);
  if (v === undefined) return undefined;
  const kind: Kind = CONFIG_KEYS[key].kind;
  switch (kind.type) {
    case 'int': {
      const n = Number(v);
      if (!/^-?\d+$/.test(v.trim()) || n < kind.min || n > kind.max) {
        throw new ConfigError(key, `a whole number from ${kind.min} to ${kind.max}`, shown(key, v));
      }
      return n;
    }
    case 'url':
      return httpUrl(key, v);
    case 'enum':
      if (!kind.values.includes(v)) throw new ConfigError(key, `one of ${kind.values.join(', ')}`, shown(key, v));
      return v;
    case 'bool':
      if (!['true', 'false', '1', '0', 'yes', 'no'].includes(v.toLowerCase())) throw new ConfigError(key, 'true or false', v);
      return ['true', '1', 'yes'].includes(v.toLowerCase());
    case 'list':
      return v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    case 'urls': {
      const urls = v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (urls.length > kind.max) throw new ConfigError(key, `at most ${kind.max} comma-separated http(s) URLs`, shown(key, v));
      return urls.map((u) => httpUrl(key, u));
    }
    case 'string':
      if (kind.pattern && !kind.pattern.test(v)) throw new ConfigError(key, kind.hint ?? String(kind.pattern), shown(key, v));
      return v;
  }
}

/**
 * Parses and validates the whole configuration. Throws one ConfigError that names every problem: each key's own
 * (its form), the unknown keys, then — once every key has its form — the ones that contradict each other.
 */
export function parseConfig(src: Source): Config {
  const own: ConfigError[] = [];
  for (const key of Object.keys(CONFIG_KEYS) as ConfigKey[]) {
    try {
      parseValue(src, key);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      own.push(err);
    }
  }
  own.push(...unknownKeys(src));
  if (own.length) throw ConfigError.many(own);
  const problems: ConfigError[] = [];
  const config = combine(src, (e) => problems.push(e));
  if (problems.length) throw ConfigError.many(problems);
  return config;
}

/** The keys together: what contradicts is handed to `bad` (and a stand-in value used, so every contradiction is seen). */
function combine(src: Source, bad: (e: ConfigError) => void): Config {
  const get = <T>(key: ConfigKey) => parseValue(src, key) as T;
  const str = (key: ConfigKey) => get<string | undefined>(key);

  const webhookUrl = str('B24_WEBHOOK_URL');
  const clientId = str('B24_CLIENT_ID');
  const clientSecret = str('B24_CLIENT_SECRET');
  // A stand-in when the connection is not usable: the problem is said, the other keys are still looked at.
  const unusable: Config['bitrix24'] = { mode: 'webhook', webhookUrl: '' };
  const bitrix24 = ((): Config['bitrix24'] => {
    if (webhookUrl && (clientId || clientSecret)) {
      bad(new ConfigError('B24_WEBHOOK_URL', 'either a webhook URL or B24_CLIENT_ID/B24_CLIENT_SECRET, not both'));
      return unusable;
    }
    if (webhookUrl) {
      if (!/\/rest\/\d+\/[^/]+\/?$/.test(new URL(webhookUrl).pathname)) {
        bad(new ConfigError('B24_WEBHOOK_URL', 'https://<portal>/rest/<user id>/<secret>/', '***'));
        return unusable;
      }
      return { mode: 'webhook', webhookUrl: webhookUrl.endsWith('/') ? webhookUrl : `${webhookUrl}/` };
    }
    if (clientId || clientSecret) {
      const portalUrl = str('B24_PORTAL_URL');
      if (!clientId) bad(new ConfigError('B24_CLIENT_ID', 'the application client_id (B24_CLIENT_SECRET is set)'));
      if (!clientSecret) bad(new ConfigError('B24_CLIENT_SECRET', 'the application client_secret (B24_CLIENT_ID is set)'));
      if (!portalUrl) bad(new ConfigError('B24_PORTAL_URL', "the portal's address, e.g. https://company.bitrix24.ru: application mode installs only there (docs/security.md)"));
      if (!clientId || !clientSecret || !portalUrl) return unusable;
      return { mode: 'app', clientId, clientSecret, portalUrl: new URL(portalUrl).origin, oauthUrl: get<string>('B24_OAUTH_URL') };
    }
    bad(new ConfigError('B24_WEBHOOK_URL', 'a Bitrix24 connection: B24_WEBHOOK_URL, or B24_CLIENT_ID and B24_CLIENT_SECRET'));
    return unusable;
  })();

  const phoneIndexEvents = get<'handler' | 'offline'>('PHONE_INDEX_EVENTS');
  // event.offline.get works only with an application's authorization (b24restdocs, event-offline-get.md).
  if (phoneIndexEvents === 'offline' && bitrix24.mode !== 'app' && bitrix24 !== unusable)
    bad(new ConfigError('PHONE_INDEX_EVENTS', '`handler` in webhook mode: offline events need the application (B24_CLIENT_ID)', 'offline'));

  const unprocessedUserId = get<number | undefined>('B24_UNPROCESSED_USER_ID');
  if (unprocessedUserId === undefined) bad(new ConfigError('B24_UNPROCESSED_USER_ID', 'the id of the Bitrix24 user who owns leads of unknown callers'));

  const cert = str('TLS_CERT');
  const key = str('TLS_KEY');
  if (Boolean(cert) !== Boolean(key)) bad(new ConfigError(cert ? 'TLS_KEY' : 'TLS_CERT', 'set together with its pair (TLS_CERT and TLS_KEY)'));
  const tls = cert && key ? { cert, key } : null;
  for (const [k, path] of [
    ['TLS_CERT', cert],
    ['TLS_KEY', key],
  ] as const) {
    if (path) {
      try {
        readFileSync(path);
      } catch {
        bad(new ConfigError(k, 'a readable PEM file', path));
      }
    }
  }

  const uccxToken = str('UCCX_LOOKUP_TOKEN') ?? null;
  const host = get<string>('HOST');
  const trustProxy = String(get<string>('TRUST_PROXY')).toLowerCase();
  const proxyHops = /^(true|yes)$/.test(trustProxy) ? 1 : /^(false|no)$/.test(trustProxy) ? 0 : Number(trustProxy);
  const sqlitePath = str('CCDR_SQLITE_PATH');
  const odbc = str('CCDR_ODBC_CONNECTION');
  if (sqlitePath && odbc) bad(new ConfigError('CCDR_SQLITE_PATH', 'either CCDR_SQLITE_PATH or CCDR_ODBC_CONNECTION, not both'));
  const odbc2 = str('CCDR_ODBC_CONNECTION_2');
  if (odbc2 && !odbc) bad(new ConfigError('CCDR_ODBC_CONNECTION_2', 'the second node needs CCDR_ODBC_CONNECTION (the first) as well'));
  const timeZone = get<string>('PORTAL_TIMEZONE');
  if (!isTimeZone(timeZone)) bad(new ConfigError('PORTAL_TIMEZONE', 'an IANA time zone such as Europe/Moscow', timeZone));
  const statsToken = str('STATS_API_TOKEN') ?? null;
  const liveOdbc = str('LIVE_ODBC_CONNECTION');
  const liveOdbc2 = str('LIVE_ODBC_CONNECTION_2');
  if (liveOdbc2 && !liveOdbc) bad(new ConfigError('LIVE_ODBC_CONNECTION_2', 'the second node needs LIVE_ODBC_CONNECTION (the first) as well'));
  if (liveOdbc && !sqlitePath && !odbc) bad(new ConfigError('LIVE_ODBC_CONNECTION', 'the live queues sit on the statistics page: set CCDR_ODBC_CONNECTION (the call records) as well'));
  const ids = (key: ConfigKey) =>
    (get<string[] | undefined>(key) ?? []).map((v) => {
      if (!/^\d+$/.test(v)) bad(new ConfigError(key, 'comma-separated numeric ids', v));
      return Number(v);
    });
  const odbcPassword = (c: string | undefined) => (c ? /(?:^|;)\s*(?:PWD|PASSWORD)\s*=\s*([^;]+)/i.exec(c)?.[1] : undefined);
  const databaseUrl = str('DATABASE_URL') ?? null;
  const dbPassword = (() => {
    try {
      return databaseUrl ? decodeURIComponent(new URL(databaseUrl).password) : undefined;
    } catch {
      bad(new ConfigError('DATABASE_URL', 'postgres://user:password@host:5432/database', '***'));
      return undefined;
    }
  })();
  const secrets = [
    databaseUrl,
    dbPassword,
    uccxToken,
    clientSecret,
    webhookUrl ? webhookSecret(webhookUrl) : undefined,
    statsToken,
    odbc,
    odbcPassword(odbc),
    odbc2,
    odbcPassword(odbc2),
    liveOdbc,
    odbcPassword(liveOdbc),
    liveOdbc2,
    odbcPassword(liveOdbc2),
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);

  const config: Config = {
    port: get('PORT'),
    host,
    dataDir: get('DATA_DIR'),
    databaseUrl,
    tls,
    proxyHops,
    logLevel: get('LOG_LEVEL'),
    uiLanguage: get('UI_LANGUAGE'),
    bitrix24,
    unprocessedUserId: unprocessedUserId ?? 0,
    rate: { perSecond: get('B24_RATE_PER_SEC'), burst: get('B24_RATE_BURST') },
    requestTimeoutMs: get('B24_REQUEST_TIMEOUT_MS'),
    writeSettleMs: get('B24_WRITE_SETTLE_MS'),
    lookupDeadlineMs: get('LOOKUP_DEADLINE_MS'),
    lookupCacheTtlMs: get<number>('LOOKUP_CACHE_TTL_S') * 1000,
    trace: { keepMs: get<number>('TRACE_KEEP_DAYS') * 86_400_000, numbers: get<'masked' | 'full'>('LOG_NUMBERS') },
    userCacheTtlMs: get<number>('USER_CACHE_TTL_S') * 1000,
    uccxToken,
    uccxAllowedIps: get('UCCX_ALLOWED_IPS') ?? [],
    finesseOrigins: (get<string[]>('FINESSE_ORIGINS') ?? []).map((o) => {
      try {
        return new URL(o).origin;
      } catch {
        bad(new ConfigError('FINESSE_ORIGINS', 'comma-separated origins such as https://finesse1.example.com:8445', o));
        return o;
      }
    }),
    phone: {
      countryCode: get('PHONE_COUNTRY_CODE'),
      nationalLength: get('PHONE_NATIONAL_LENGTH'),
      trunkPrefix: get('PHONE_TRUNK_PREFIX'),
      outsidePrefixes: get('PHONE_OUTSIDE_PREFIXES'),
    },
    shutdownGraceMs: get('SHUTDOWN_GRACE_MS'),
    publicUrl: str('PUBLIC_URL')?.replace(/\/+$/, '') ?? null,
    line: { number: get('B24_LINE_NUMBER'), showCard: get('B24_SHOW_CALL_CARD') },
    finesseUrls: (get<string[] | undefined>('FINESSE_URL') ?? []).map((u) => u.replace(/\/+$/, '')),
    phoneIndexSyncMs: get<number>('PHONE_INDEX_SYNC_S') * 1000,
    phoneIndexEvents,
    finesseLockoutThreshold: get('FINESSE_LOCKOUT_THRESHOLD'),
    agentExtensions: Object.fromEntries(
      (get<string[]>('AGENT_EXTENSIONS') ?? []).map((pair) => {
        const m = /^(\d+):(\d{1,15})$/.exec(pair);
        if (!m) bad(new ConfigError('AGENT_EXTENSIONS', 'comma-separated <Bitrix24 user id>:<extension> pairs', pair));
        return m ? [Number(m[1]), m[2]!] : [0, ''];
      }),
    ),
    dial: {
      outsidePrefix: get('DIAL_OUTSIDE_PREFIX'),
      internationalPrefix: get('DIAL_INTERNATIONAL_PREFIX'),
      whenReady: get('DIAL_WHEN_READY'),
      notReadyReasonId: get<number | undefined>('DIAL_NOT_READY_REASON_ID') ?? null,
      resultTimeoutMs: get('DIAL_RESULT_TIMEOUT_MS'),
      proofWindowMs: get<number>('CLICK_PROOF_WINDOW_S') * 1000,
    },
    finishSettleMs: get('CALL_FINISH_SETTLE_MS'),
    stats: {
      source: sqlitePath ? { kind: 'sqlite', path: sqlitePath } : odbc ? { kind: 'odbc', connections: odbc2 ? [odbc, odbc2] : [odbc] } : null,
      queryTimeoutMs: get('CCDR_QUERY_TIMEOUT_MS'),
      timeZone,
      token: statsToken,
      allowed: { users: ids('STATS_ALLOWED_USERS'), departments: ids('STATS_ALLOWED_DEPARTMENTS') },
      missedPollMs: get<number>('MISSED_CALLS_POLL_S') * 1000,
      missedShortS: get<number>('MISSED_CALLS_SHORT_S'),
      missedLookbackMs: get<number>('MISSED_CALLS_LOOKBACK_S') * 1000,
      rollupRefreshMs: get<number>('STATS_ROLLUP_REFRESH_S') * 1000,
      liveIntervalS: Number(get<string>('LIVE_INTERVAL_S')),
      liveSource: liveOdbc ? { kind: 'odbc', connections: liveOdbc2 ? [liveOdbc, liveOdbc2] : [liveOdbc] } : null,
    },
    secrets,
  };
  // Checked after every key's own form, so a typo is named first.
  if (!uccxToken && !isLoopback(host)) {
    bad(new ConfigError('UCCX_LOOKUP_TOKEN', `a token for the UCCX script: without it the middleware listens only on loopback (HOST=127.0.0.1), and HOST is ${host}`));
  }
  return config;
}

/** The secret part of https://portal/rest/<user>/<secret>/. */
export function webhookSecret(url: string): string | undefined {
  return /\/rest\/\d+\/([^/]+)/.exec(url)?.[1];
}

/** 127.0.0.0/8, ::1, localhost: only this machine can connect. */
export function isLoopback(host: string): boolean {
  return /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(host.trim());
}
