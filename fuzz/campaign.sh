#!/bin/sh
# Fuzz campaign: runs every target of fuzz/Cargo.toml for a fixed time each, a few at
# once, and prints one line per target (runs, coverage, corpus, findings).
#
#   fuzz/campaign.sh [SECONDS_PER_TARGET] [AT_ONCE] [TARGET...]
#
# Defaults: 600 seconds, as many at once as there are CPUs, every target. Needs nightly
# Rust and cargo-fuzz. New inputs go to $OUT/<target>/corpus (OUT defaults to
# /tmp/umlnet-fuzz-campaign), seeded from the committed fuzz/corpus/<target>, which is
# only read; a crash or leak is written to $OUT/<target>/artifacts/ and makes the
# script exit 1. See docs/testing.md for what to do with a finding.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-600}
at_once=${2:-$(nproc)}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
out=${OUT:-/tmp/umlnet-fuzz-campaign}

if [ $# -gt 0 ]; then
    targets=$*
else
    targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$here/Cargo.toml" | grep -v '^umlnet-fuzz$')
fi

cd "$here"
echo "building $(echo "$targets" | wc -w) targets (cargo +nightly fuzz build)…" >&2
cargo +nightly fuzz build >&2

mkdir -p "$out"
echo "fuzzing for $seconds s per target, $at_once at once, into $out" >&2
for t in $targets; do echo "$t"; done | xargs -P "$at_once" -I{} sh -c '
    t={}; d="$1/$t"
    mkdir -p "$d/corpus" "$d/artifacts"
    echo "  start $t" >&2
    start=$(date +%s)
    cargo +nightly fuzz run "$t" "$d/corpus" "corpus/$t" -- \
        -max_total_time="$2" -artifact_prefix="$d/artifacts/" -print_final_stats=1 \
        > "$d/log" 2>&1 || true
    echo $(( $(date +%s) - start )) > "$d/seconds"
    echo "  done  $t" >&2
' sh "$out" "$seconds"

status=0
printf '| target | runs | seconds | cov | ft | corpus | findings |\n|---|---:|---:|---:|---:|---:|---:|\n'
for t in $targets; do
    d="$out/$t"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/log" | tail -n1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$d/log" | tail -n1)
    # libFuzzer prints no time when it stops at a crash: the wall time then.
    [ -n "$secs" ] || secs=$(cat "$d/seconds" 2>/dev/null || true)
    last=$(grep -E '^#[0-9]+' "$d/log" | tail -n1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corpus=$(find "$d/corpus" -type f | wc -l)
    findings=$(find "$d/artifacts" -type f | wc -l)
    [ "$findings" -eq 0 ] || status=1
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" "${runs:-?}" "${secs:-?}" \
        "${cov:-?}" "${ft:-?}" "$corpus" "$findings"
done
exit $status
