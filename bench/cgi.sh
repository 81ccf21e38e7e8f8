#!/usr/bin/env bash
# cgi.sh: CGI throughput, pyhttp_cgi against the raw spawn limit and Python.
#
# 1. bench/hello.c (gcc -O2) as /cgi-bin/hello:
#    a. spawn limit: bench/spawnbench.c runs it WORKERS=2 threads at a time
#       with posix_spawn + pipe + read to EOF + waitpid, no HTTP, for
#       SECONDS; spawns/second is the ceiling for any CGI server here.
#    b. pyhttp_cgi (Caddyfile, admin off, no access log): wrk -t2 -c8.
#    c. python3 -m http.server --cgi: the same wrk command. Python answers
#       HTTP/1.0 and closes every connection, so wrk reconnects per request.
#    ROUNDS rounds alternate a, b, c; the table gives the median round.
# 2. bench/bigout.c as /cgi-bin/bigout writes 100 MiB after its header:
#    curl -o /dev/null through pyhttp_cgi and Python, REPS downloads each,
#    median %{speed_download}, with the server's peak RSS over the downloads
#    (VmHWM after resetting it) and strace -f -c of one download.
#
# Both servers run as root and run the scripts as nobody (Python's run_cgi
# does setuid(nobody); pyhttp_cgi's user defaults to nobody under root).
#
# Environment: ROUNDS (default 3), SECONDS_RUN (default 10), CONNS
# (default 8), REPS (default 5), BENCH_PORT (default 18300), BENCH_OUT.
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
SECONDS_RUN=${SECONDS_RUN:-10}
CONNS=${CONNS:-8}
REPS=${REPS:-5}
PORT=${BENCH_PORT:-18300}

need curl curl
need wrk wrk
need gcc gcc
need strace strace
need python3 python3
build_caddy

TREE=$OUT/cgi-tree
RES=$OUT/cgi
rm -rf "$TREE" "$RES"
mkdir -p "$TREE/cgi-bin" "$RES"
gcc -O2 -Wall -o "$TREE/cgi-bin/hello" "$REPO/bench/hello.c"
gcc -O2 -Wall -o "$TREE/cgi-bin/bigout" "$REPO/bench/bigout.c"
gcc -O2 -Wall -pthread -o "$OUT/spawnbench" "$REPO/bench/spawnbench.c"

OURS=$PORT
PY=$((PORT + 1))
caddyfile "$RES/Caddyfile" "$OURS" "	root * $TREE
	pyhttp_cgi"
start_server pyhttp_cgi "$OURS" "$BIN" run --config "$RES/Caddyfile" --adapter caddyfile
OURS_PID=$SERVER_PID
start_server python3-cgi "$PY" python3 -m http.server --cgi "$PY" -b 127.0.0.1 -d "$TREE"
PY_PID=$SERVER_PID

for port in "$OURS" "$PY"; do
	body=$(curl -sS -f "http://127.0.0.1:$port/cgi-bin/hello")
	if [ "$body" != hello ]; then
		echo "127.0.0.1:$port/cgi-bin/hello answered $body" >&2
		exit 1
	fi
done

# 1. hello: spawn limit, pyhttp_cgi, Python.
for round in $(seq "$ROUNDS"); do
	log "round $round: spawn limit"
	"$OUT/spawnbench" "$TREE/cgi-bin/hello" 2 "$SECONDS_RUN" >"$RES/spawn.$round.txt"
	for s in "pyhttp_cgi $OURS" "python3-cgi $PY"; do
		read -r name port <<<"$s"
		log "round $round: $name"
		wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --latency \
			"http://127.0.0.1:$port/cgi-bin/hello" >"$RES/wrk.$name.$round.txt"
	done
done

# 2. bigout: 100 MiB of script output.
for s in "pyhttp_cgi $OURS $OURS_PID" "python3-cgi $PY $PY_PID"; do
	read -r name port pid <<<"$s"
	RSS0=$(rss_kib "$pid")
	reset_hwm "$pid"
	for _ in $(seq "$REPS"); do
		curl -sS -o /dev/null -w '%{http_code} %{size_download} %{speed_download}\n' \
			"http://127.0.0.1:$port/cgi-bin/bigout" >>"$RES/big.$name.txt"
	done
	echo "$RSS0 $(hwm_kib "$pid")" >"$RES/big.$name.rss"
	strace -f -c -e trace=read,write,writev,sendfile,splice \
		-o "$RES/strace.$name.txt" -p "$pid" 2>/dev/null &
	spid=$!
	sleep 1
	curl -sS -o /dev/null "http://127.0.0.1:$port/cgi-bin/bigout"
	kill -INT "$spid"
	wait "$spid" || true
done

wrkfield() {
	awk '/^Requests\/sec:/ {r=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2}
		/Socket errors/ {e=$0} END {print r, p50, p99}' "$1"
}
calls() { awk -v s="$2" '$NF==s {print $4; f=1} END {if (!f) print 0}' "$1"; }

awk '{print $6}' "$RES"/spawn.*.txt >"$RES/spawn.rounds"
SPAWN=$(median <"$RES/spawn.rounds")

machine_info
echo "wrk:     $(wrk -v 2>&1 | head -1)"
echo "gcc:     $(gcc --version | head -1)"
echo
echo "hello CGI (bench/hello.c, dynamically linked): $ROUNDS rounds of ${SECONDS_RUN}s, median round"
echo
echo "| what | requests/s (median) | all rounds | p50 | p99 | vs spawn limit |"
echo "|---|---:|---|---:|---:|---:|"
printf '| spawn limit (spawnbench, 2 threads, no HTTP) | %.0f | %s | | | 1.00x |\n' "$SPAWN" \
	"$(awk '{printf "%s%.0f", (NR>1 ? ", " : ""), $1}' "$RES/spawn.rounds")"
for name in pyhttp_cgi python3-cgi; do
	for round in $(seq "$ROUNDS"); do wrkfield "$RES/wrk.$name.$round.txt"; done >"$RES/wrk.$name.rounds"
	read -r rps p50 p99 <<<"$(sort -g -k1,1 "$RES/wrk.$name.rounds" | awk -v n="$ROUNDS" 'NR == int((n+1)/2)')"
	printf '| %s (wrk -t2 -c%s) | %.0f | %s | %s | %s | %.2fx |\n' "$name" "$CONNS" "$rps" \
		"$(awk '{printf "%s%.0f", (NR>1 ? ", " : ""), $1}' "$RES/wrk.$name.rounds")" "$p50" "$p99" \
		"$(awk -v a="$rps" -v b="$SPAWN" 'BEGIN {print a / b}')"
done
for name in pyhttp_cgi python3-cgi; do
	if grep -q 'Socket errors\|Non-2xx' "$RES/wrk.$name.1.txt"; then
		echo
		echo "$name, wrk round 1: $(grep 'Socket errors\|Non-2xx' "$RES/wrk.$name.1.txt" | tr -s ' ' | paste -sd';')"
	fi
done
echo
echo "100 MiB of CGI output (bench/bigout.c, 1 MiB writes): curl -o /dev/null, $REPS downloads, median; syscall counts are strace -f -c of one more download, server and script together (the script itself makes about 100 writes)"
echo
echo "| server | GB/s (median) | all | RSS before MiB | peak RSS MiB | read calls | write calls | splice |"
echo "|---|---:|---|---:|---:|---:|---:|---:|"
for name in pyhttp_cgi python3-cgi; do
	if awk '$1 != 200 || $2 != 104857600 {bad=1} END {exit !bad}' "$RES/big.$name.txt"; then
		echo "$name: a bigout download was short or not 200:" >&2
		cat "$RES/big.$name.txt" >&2
		exit 1
	fi
	read -r r0 hwm <"$RES/big.$name.rss"
	s=$RES/strace.$name.txt
	printf '| %s | %.2f | %s | %.1f | %.1f | %s | %s | %s |\n' "$name" \
		"$(awk '{print $3 / 1e9}' "$RES/big.$name.txt" | median)" \
		"$(awk '{printf "%s%.2f", (NR>1 ? ", " : ""), $3 / 1e9}' "$RES/big.$name.txt")" \
		"$(awk -v k="$r0" 'BEGIN {print k / 1024}')" "$(awk -v k="$hwm" 'BEGIN {print k / 1024}')" \
		"$(calls "$s" read)" "$(calls "$s" write)" "$(calls "$s" splice)"
done
