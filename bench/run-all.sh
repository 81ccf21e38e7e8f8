#!/usr/bin/env bash
# run-all.sh: every benchmark in turn, each report saved under
# $BENCH_OUT/report-NAME.md (and shown); BENCHMARKS.md records a run of it.
source "$(dirname "$0")/lib.sh"
for b in listing static cgi gobench; do
	log "bench/$b.sh"
	"$REPO/bench/$b.sh" | tee "$OUT/report-$b.md"
done
