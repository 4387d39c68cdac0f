#!/usr/bin/env bash
# `npm test`: type-check everything, then run jest. Installs the Debian packages the tests use when missing
# (as root on a fresh machine; elsewhere it says what to install). Tests that need them fail, never skip.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The gadget's end-to-end tests drive Debian's Chromium (never a downloaded browser).
[ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ] || [ -n "${CHROMIUM_PATH:-}" ] || need+=(chromium)
# Prosody stands in for Finesse's XMPP notification service (WebSocket, BOSH, pubsub).
[ -x /usr/bin/prosody ] || [ -n "${PROSODY_PATH:-}" ] || need+=(prosody)
# The ODBC path of the statistics runs for real through unixODBC and Debian's SQLite ODBC driver.
[ -f /usr/include/sql.h ] || need+=(unixodbc-dev)
odbcinst -q -d 2>/dev/null | grep -qx '\[SQLite3\]' || need+=(libsqliteodbc odbcinst)
# The release: dpkg-deb builds the package, systemd-analyze checks its unit (not in Debian's minimal images).
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# The shared store of a middleware pair runs on a throwaway PostgreSQL (Debian's server package).
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || [ -n "${PG_BIN_DIR:-}" ] || need+=(postgresql)
# …and the two nodes stand behind HAProxy, run with the documented configuration (deploy/haproxy.cfg).
[ -x /usr/sbin/haproxy ] || [ -n "${HAPROXY_PATH:-}" ] || need+=(haproxy)
# The statistics' CSV is opened in LibreOffice Calc (headless, Russian locale) as a manager would open it.
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "npm test needs: ${need[*]} (apt-get install ${need[*]})" >&2
    exit 1
  fi
fi
# `odbc` is optional (it compiles against unixODBC's headers): when `npm ci` ran before the headers were there it
# dropped the package; install the locked version now (or rebuild it), without touching package.json or the lock.
if ! node -e "require('odbc')" 2>/dev/null; then
  if [ -d node_modules/odbc ]; then
    npm rebuild odbc >/dev/null
  else
    npm install --no-save "odbc@$(node -p "require('./package-lock.json').packages['node_modules/odbc'].version")" >/dev/null
  fi
fi
npx tsc -p tsconfig.json
npx tsc -p gadget/tsconfig.json   # browser code: bundler resolution (ESM-only @xmpp/client)
# The layering and the code rules (eslint.config.mjs): a wrong import fails the build here.
npx eslint --max-warnings 0 .
# One format for everyone (.prettierrc.json; `npm run format` writes it).
npx prettier --check --log-level warn '**/*.{ts,mjs}'

# One run, one id and one temporary folder. Every process a test starts carries FB24_TEST_RUN (spawned children
# inherit it; testing/node-process.ts passes it on explicitly), so after jest we can prove that
# none outlived the run; the run's temporary folder is removed whatever the tests left in it.
export FB24_TEST_RUN="$$-$(date +%s%N)"
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/fb24-test.XXXXXX")
# Traversable by others: PostgreSQL will not run as root, so as root its data folder in here belongs to `postgres`.
chmod 711 "$run_tmp"
export TMPDIR="$run_tmp"
status=0
npx jest "$@" || status=$?
bash scripts/leftover-processes.sh "$FB24_TEST_RUN" || status=1
rm -rf "$run_tmp"
exit $status
