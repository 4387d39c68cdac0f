import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { buildGadget } from '../gadget/build';
import { envTemplate } from '../middleware/config-template';

/**
 * `npm run package`: the Debian package an operator installs (`apt install ./finesse-bitrix24_<version>_<arch>.deb`).
 * The application is plain JavaScript under /opt/finesse-bitrix24 (no TypeScript, no tsx at run time) with its
 * production dependencies only; configuration in /etc/finesse-bitrix24/finesse-bitrix24.env (a conffile: an upgrade
 * keeps the operator's), data in /var/lib/finesse-bitrix24 (never touched by an upgrade or a removal), a system
 * user, the systemd unit deploy/finesse-bitrix24.service, and /usr/bin/finesse-bitrix24 for the commands
 * (doctor, backfill, index-sync, ccdr-check) with the service's own configuration.
 * dpkg-deb builds it: the packaging is a handful of files, not worth a build system of its own.
 */
export const NAME = 'finesse-bitrix24';
const ROOT = join(__dirname, '..');

const sh = (cmd: string, args: string[], cwd = ROOT) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The commit being packaged; a tree without git (a source archive) says so. */
function gitHead(): string {
  try {
    return sh('git', ['rev-parse', '--short=12', 'HEAD']).trim();
  } catch {
    return 'unknown';
  }
}

const CONTROL = (version: string, arch: string, installedKb: number) => `Package: ${NAME}
Version: ${version}
Architecture: ${arch}
Maintainer: finesse-bitrix24 developers <finesse-bitrix24@users.noreply.github.com>
Installed-Size: ${installedKb}
Depends: nodejs (>= 20), adduser, systemd
Recommends: unixodbc
Section: net
Priority: optional
Description: Cisco UCCX/Finesse to Bitrix24 CRM connector
 Caller lookup for UCCX scripts, screen-pop and click-to-dial in the Finesse
 desktop, calls and missed calls in the CRM, contact-center statistics inside
 Bitrix24. Configure /etc/${NAME}/${NAME}.env, then: ${NAME} doctor.
`;

const POSTINST = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if ! getent passwd ${NAME} >/dev/null; then
    adduser --system --group --home /var/lib/${NAME} --no-create-home --quiet ${NAME}
  fi
  mkdir -p /var/lib/${NAME}
  chown ${NAME}:${NAME} /var/lib/${NAME}
  chmod 0750 /var/lib/${NAME}
  # The environment file holds secrets: readable by the service's group only.
  chown root:${NAME} /etc/${NAME}/${NAME}.env
  chmod 0640 /etc/${NAME}/${NAME}.env
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
    # An upgrade restarts a running service (its store and outbox are in /var/lib, untouched); a first install
    # waits for the operator: the configuration must be filled in first.
    if [ -n "$2" ]; then systemctl try-restart ${NAME}.service >/dev/null || true; fi
  fi
  if [ -z "$2" ]; then
    echo "${NAME}: fill in /etc/${NAME}/${NAME}.env, run '${NAME} doctor', then 'systemctl enable --now ${NAME}'."
  fi
fi
exit 0
`;

const PRERM = `#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop ${NAME}.service >/dev/null 2>&1 || true
fi
exit 0
`;

const POSTRM = `#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
# /var/lib/${NAME} (the store: pending writes to Bitrix24, tokens, the phone index) is kept even on purge: remove
# it by hand once nothing in it is needed.
exit 0
`;

/** The commands, with the service's configuration (as root or as the service's group). */
const COMMAND = `#!/bin/sh
# ${NAME} <doctor|backfill|index-sync|ccdr-check|backup|restore|trace> [arguments]: a command with the service's own configuration.
set -e
case "$1" in
  doctor|index-sync|ccdr-check|backup|restore|trace) script="$1" ;;
  backfill) script=backfill-missed-calls ;;
  *) echo "usage: ${NAME} doctor|backfill|index-sync|ccdr-check|backup|restore|trace [arguments]" >&2; exit 2 ;;
esac
shift
set -a
. /etc/${NAME}/${NAME}.env
set +a
DATA_DIR=\${DATA_DIR:-/var/lib/${NAME}}
export DATA_DIR
cd /opt/${NAME}
# As root, run as the service's user: what a command writes into DATA_DIR (a restore, the phone index) stays the
# service's own.
if [ "$(id -u)" = 0 ]; then exec runuser -u ${NAME} -- /usr/bin/node /opt/${NAME}/dist/app/scripts/$script.js "$@"; fi
exec /usr/bin/node /opt/${NAME}/dist/app/scripts/$script.js "$@"
`;

/** The production dependencies as installed here (npm's own list), copied into the package. */
function productionModules(): string[] {
  return (
    sh('npm', ['ls', '--omit=dev', '--all', '--parseable'])
      .split('\n')
      .map((p) => p.trim())
      // Top-level packages only: a nested node_modules comes with the package that holds it.
      .filter((p) => p && p !== ROOT && !/node_modules\/.*node_modules\//.test(relative(ROOT, p)))
  );
}

export async function buildPackage(outDir = join(ROOT, 'dist')): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const arch = sh('dpkg', ['--print-architecture']).trim();
  rmSync(join(ROOT, 'dist/app'), { recursive: true, force: true });
  sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  const stage = mkdtempSync(join(tmpdir(), 'fb24-deb-'));
  chmodSync(stage, 0o755); // the package's ./ is the system's /
  try {
    const app = join(stage, 'opt', NAME);
    await buildGadget(join(app, 'dist/gadget'));
    cpSync(join(ROOT, 'dist/app'), join(app, 'dist/app'), { recursive: true });
    for (const f of [
      'package.json',
      'package-lock.json',
      'README.md',
      'LICENSE',
      'CONTRIBUTING.md',
      'CHANGELOG.md',
      'docs',
      'layouts/finesse-layout.xml',
      'scripts/uccx-script-guide.md',
      'deploy/haproxy.cfg',
      'deploy/monitoring/finesse-bitrix24.rules.yml',
      'deploy/monitoring/grafana-dashboard.json',
    ]) {
      mkdirSync(dirname(join(app, f)), { recursive: true });
      cpSync(join(ROOT, f), join(app, f), { recursive: true });
    }
    // What /metrics build_info and the logs say is running (no git at the customer's).
    writeFileSync(join(app, 'build-info.json'), `${JSON.stringify({ version: pkg.version, commit: gitHead() })}\n`);
    for (const m of productionModules()) cpSync(m, join(app, relative(ROOT, m)), { recursive: true, dereference: true });
    mkdirSync(join(stage, 'etc', NAME), { recursive: true });
    // The package's own place for data (the service unit sets it too; written here so the commands agree).
    writeFileSync(join(stage, 'etc', NAME, `${NAME}.env`), envTemplate({ DATA_DIR: `/var/lib/${NAME}` }));
    mkdirSync(join(stage, 'lib/systemd/system'), { recursive: true });
    cpSync(join(ROOT, 'deploy', `${NAME}.service`), join(stage, 'lib/systemd/system', `${NAME}.service`));
    mkdirSync(join(stage, 'usr/bin'), { recursive: true });
    writeFileSync(join(stage, 'usr/bin', NAME), COMMAND, { mode: 0o755 });
    const installedKb = Number(sh('du', ['-sk', stage]).split('\t')[0]);
    mkdirSync(join(stage, 'DEBIAN'));
    writeFileSync(join(stage, 'DEBIAN/control'), CONTROL(pkg.version, arch, installedKb));
    writeFileSync(join(stage, 'DEBIAN/conffiles'), `/etc/${NAME}/${NAME}.env\n`);
    for (const [name, body] of [
      ['postinst', POSTINST],
      ['prerm', PRERM],
      ['postrm', POSTRM],
    ] as const) {
      writeFileSync(join(stage, 'DEBIAN', name), body);
      chmodSync(join(stage, 'DEBIAN', name), 0o755);
    }
    mkdirSync(outDir, { recursive: true });
    const deb = join(outDir, `${NAME}_${pkg.version}_${arch}.deb`);
    sh('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', stage, deb]);
    return deb;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (require.main === module) {
  buildPackage().then(
    (deb) => process.stdout.write(`${deb}\n`),
    (err: Error) => {
      process.stderr.write(`package failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
