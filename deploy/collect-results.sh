#!/bin/sh
# Collects the results of a client Job with kubectl alone:
#   deploy/collect-results.sh NAMESPACE [JOB] [DIR]
# For each succeeded pod of JOB (default podmeter-load) it writes DIR/<pod>.json
# (DIR defaults to results/NAMESPACE/JOB): the JSON that run-client.sh printed
# between its marker lines, byte for byte: each load result keeps its
# placement (same-node, cross-node or unknown), which the last line sums up.
# Then merge them exactly:
#   podmeter merge DIR/*.json
set -eu
ns=${1:?usage: deploy/collect-results.sh NAMESPACE [JOB] [DIR]}
job=${2:-podmeter-load}
dir=${3:-results/$ns/$job}

pods=$(kubectl -n "$ns" get pods -l "job-name=$job" --field-selector=status.phase==Succeeded \
  -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
if [ -z "$pods" ]; then
  echo "no succeeded pod of job $job in namespace $ns (kubectl -n $ns get pods -l job-name=$job)" >&2
  exit 1
fi
mkdir -p "$dir"
n=0
placements=
for pod in $pods; do
  kubectl -n "$ns" logs "$pod" -c load | awk '
    $0 == "--- podmeter result end ---" { inside = 0 }
    inside { print }
    $0 == "--- podmeter result begin ---" { inside = 1 }
  ' > "$dir/$pod.json"
  if [ ! -s "$dir/$pod.json" ]; then
    rm -f "$dir/$pod.json"
    echo "$pod: no result in its log (kubectl -n $ns logs $pod -c load)" >&2
    exit 1
  fi
  n=$((n + 1))
  # The placements the result records (a compare result holds one per round):
  # each result's own key, the one before "server_timing" (its fingerprint
  # holds the same value again), in pretty or compact JSON alike.
  placements="$placements$(tr -d ' \t\r\n' < "$dir/$pod.json" | grep -o '"placement":"[a-z-]*","server_timing"' | sed 's/^"placement":"\([a-z-]*\)".*/\1/')
"
done
# Each placement with its count: "same-node × 3".
summary=$(printf '%s' "$placements" | grep . | sort | uniq -c | awk '{ printf "%s%s × %s", sep, $2, $1; sep = ", " }')
echo "$n result file(s) in $dir${summary:+ (placement: $summary)}" >&2
