#!/bin/sh
# run_fuzzer.sh FUZZER SEED_DIR SECONDS
# Fuzzes for a bounded time on a scratch copy of the seed corpus, so the repository is never written.
# A crashing input is kept in the working directory (the build dir) as crash-*/timeout-*/oom-* for
# reproduction: FUZZER <file>. Exit status is non-zero when anything was found.
# -entropic=0: the entropic scheduler spent two thirds of the time bookkeeping features here (perf),
# the classic one runs five times more inputs per second.
set -eu
fuzzer=$1
seeds=$2
seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/corpus"
cp "$seeds"/* "$work/corpus/"
"$fuzzer" -entropic=0 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$(pwd)/" "$work/corpus"
