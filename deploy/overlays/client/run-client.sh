#!/bin/sh
# The client Job's command: `podmeter ARGS… -o $RESULT` (ARGS: `load URL …` or
# `compare --target …`), then the result file on stdout between two marker
# lines, so that `kubectl logs` is all it takes to collect it
# (deploy/collect-results.sh). Everything podmeter prints goes to stderr, and
# nothing else is printed between the markers.
set -u
result=${RESULT:-/tmp/result.json}
rm -f "$result"

node /app/dist/src/cli/main.js "$@" -o "$result" >&2 &
pid=$!
# sh is PID 1 here and podmeter its child. A termination becomes SIGINT, on
# which podmeter stops early and still writes its result.
trap 'kill -INT "$pid" 2>/dev/null' TERM INT
code=0
wait "$pid" || code=$?
# A trapped signal ends `wait` early: wait for podmeter itself to finish.
while kill -0 "$pid" 2>/dev/null; do code=0; wait "$pid" || code=$?; done
# 130: stopped by the SIGINT above. Its result is complete up to the stop and
# says so (interrupted: true): the pod has done its job.
if [ "$code" = 130 ] && [ -s "$result" ]; then code=0; fi

if [ -s "$result" ]; then
  echo "--- podmeter result begin ---"
  cat "$result"
  # End the JSON with exactly one newline, whatever the file ended with.
  [ -z "$(tail -c 1 "$result")" ] || echo
  echo "--- podmeter result end ---"
else
  echo "podmeter wrote no result (exit code $code)" >&2
fi

# A classic (not native) Istio sidecar would keep the finished pod running: ask
# it to quit, if its agent listens on 15020 (3AAC) in this pod.
if grep -qs ':3AAC [0-9A-F]*:0000 0A' /proc/net/tcp /proc/net/tcp6; then
  wget -q -T 2 -O /dev/null --post-data '' http://127.0.0.1:15020/quitquitquit || true
fi
exit "$code"
