#!/usr/bin/env bash
# gobench.sh: the Go benchmarks of the engine packages (listing, cgihost,
# ...), which need no Caddy: go test -bench over ./internal/... only, so the
# run builds none of Caddy. Output goes to $BENCH_OUT/gobench.txt as well.
#
# Environment: COUNT (default 1, -count), BENCHTIME (default 1s).
source "$(dirname "$0")/lib.sh"

COUNT=${COUNT:-1}
BENCHTIME=${BENCHTIME:-1s}

machine_info
echo
cd "$REPO"
go test -run '^$' -bench . -benchmem -count "$COUNT" -benchtime "$BENCHTIME" ./internal/... |
	tee "$OUT/gobench.txt"
