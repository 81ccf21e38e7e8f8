#!/usr/bin/env bash
# gobench.sh: the Go benchmarks of the engine packages (listing, cgihost,
# ...), which need no Caddy, plus BenchmarkStatic of the root package
# (pyhttp_simple's serve path behind a plain net/http server). Output goes to $BENCH_OUT/gobench.txt as well.
#
# Environment: COUNT (default 1, -count), BENCHTIME (default 1s).
source "$(dirname "$0")/lib.sh"

COUNT=${COUNT:-1}
BENCHTIME=${BENCHTIME:-1s}

machine_info
echo
cd "$REPO"
{
	go test -run '^$' -bench . -benchmem -count "$COUNT" -benchtime "$BENCHTIME" ./internal/...
	# pyhttp_simple's serve path (root package: this one builds Caddy).
	go test -run '^$' -bench 'BenchmarkStatic' -benchmem -count "$COUNT" -benchtime "$BENCHTIME" .
} | tee "$OUT/gobench.txt"
