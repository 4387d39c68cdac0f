#!/usr/bin/env bash
# Fails when a process of test run $1 (its environment holds FB24_TEST_RUN=$1) is still alive after jest ended,
# names it, and kills it so that the machine is clean for the next run.
set -u
run="$1"
left=()
for env in /proc/[0-9]*/environ; do
  pid=${env#/proc/}; pid=${pid%/environ}
  [ "$pid" = "$$" ] && continue
  if { tr '\0' '\n' < "$env"; } 2>/dev/null | grep -qx "FB24_TEST_RUN=$run"; then left+=("$pid"); fi
done
[ ${#left[@]} -eq 0 ] && exit 0
echo "npm test: ${#left[@]} process(es) started by the tests are still running after jest ended (a test did not stop them):" >&2
for pid in "${left[@]}"; do ps -o pid=,ppid=,etime=,args= -p "$pid" 2>/dev/null | cut -c1-200 >&2; done
kill -9 "${left[@]}" 2>/dev/null
exit 1
