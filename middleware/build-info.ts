import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * What is running: the version (package.json) and the commit it was built from — `build-info.json` beside
 * package.json in a package (`npm run package` writes it), else the git checkout's HEAD, else "unknown". Read once:
 * for /metrics (build_info), /readyz, the first log line, backups.
 */
export interface BuildInfo {
  version: string;
  commit: string;
}

function packageRoot(): string | null {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'finesse-bitrix24') return dir;
  }
  return null;
}

/** HEAD of a git checkout, read from its files (no git process at run time). */
function gitCommit(root: string): string | null {
  try {
    const head = readFileSync(join(root, '.git/HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head.slice(0, 12);
    const ref = head.slice(5);
    if (existsSync(join(root, '.git', ref)))
      return readFileSync(join(root, '.git', ref), 'utf8')
        .trim()
        .slice(0, 12);
    const packed = readFileSync(join(root, '.git/packed-refs'), 'utf8');
    return new RegExp(`^([0-9a-f]{40}) ${ref.replace(/[/.]/g, '\\$&')}$`, 'm').exec(packed)?.[1]?.slice(0, 12) ?? null;
  } catch {
    return null;
  }
}

let cached: BuildInfo | null = null;

export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const root = packageRoot();
  if (!root) return (cached = { version: 'unknown', commit: 'unknown' });
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  const built = join(root, 'build-info.json');
  const commit = existsSync(built) ? ((JSON.parse(readFileSync(built, 'utf8')) as { commit?: string }).commit ?? 'unknown') : (gitCommit(root) ?? 'unknown');
  return (cached = { version, commit });
}
