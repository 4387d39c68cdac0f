#!/usr/bin/env bash
# `npm test`: type-check everything, then run jest. Installs nothing for now: the lookup
# capability needs only Node; browser and XMPP tests will install Debian packages here.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
npx jest "$@"
