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
#    alternating, median %{speed_download}, with the server's peak RSS over the downloads
#    (VmHWM after resetting it) and strace -f -c of one download. Three
#    variants: bigout over HTTP/1.1 (chunked by pyhttp_cgi), bigout-cl (the
#    same with a Content-Length) and bigout over HTTP/1.0 (curl -0: the
#    body ends at close), each from 127.0.0.1, and the last two again to
#    the host's own address (OWN_ADDR, default the first of hostname -I):
#    pyhttp_cgi splices only for a client that is not on loopback, and
#    traffic to the own address still crosses the loopback device, so these
#    rows show what splice costs there. A third server, pyhttp_cgi with
#    Caddy's write-idle timeout off (servers { timeouts { write_idle -1s }
#    }), shows what Caddy's default write-idle wrapper costs: it writes in
#    64 KiB chunks and hides a bounded socket from Go's splice.
#
# Both servers run as root and run the scripts as nobody (Python's run_cgi
# does setuid(nobody); pyhttp_cgi's user defaults to nobody under root).
#
#    Then CURL_REQS hello requests per server through one curl --parallel
#    (8 at a time), which counts Python's close-delimited bodies correctly.
#
# Environment: ROUNDS (default 3), SECONDS_RUN (default 10), CONNS
# (default 8), CURL_REQS (default 2000), REPS (default 5), BENCH_PORT
# (default 18300), BENCH_OUT, ONLY_BIG=1 to run section 2 alone.
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
SECONDS_RUN=${SECONDS_RUN:-10}
CONNS=${CONNS:-8}
REPS=${REPS:-5}
CURL_REQS=${CURL_REQS:-2000}
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
gcc -O2 -Wall -DWITH_CL -o "$TREE/cgi-bin/bigout-cl" "$REPO/bench/bigout.c"
gcc -O2 -Wall -pthread -o "$OUT/spawnbench" "$REPO/bench/spawnbench.c"

OURS=$PORT
PY=$((PORT + 1))
OWN_ADDR=${OWN_ADDR:-$(hostname -I 2>/dev/null | awk '{print $1}')}
OWN_ADDR=${OWN_ADDR:-127.0.0.1}
caddyfile "$RES/Caddyfile" "$OURS" "	root * $TREE
	pyhttp_cgi"
sed -i "s/bind 127.0.0.1/bind 127.0.0.1 $OWN_ADDR/" "$RES/Caddyfile"
start_server pyhttp_cgi "$OURS" "$BIN" run --config "$RES/Caddyfile" --adapter caddyfile
OURS_PID=$SERVER_PID
start_server python3-cgi "$PY" python3 -m http.server --cgi "$PY" -b 0.0.0.0 -d "$TREE"
PY_PID=$SERVER_PID
NOIDLE=$((PORT + 2))
caddyfile "$RES/Caddyfile.noidle" "$NOIDLE" "	root * $TREE
	pyhttp_cgi" "	servers {
		timeouts {
			write_idle -1s
		}
	}"
sed -i "s/bind 127.0.0.1/bind 127.0.0.1 $OWN_ADDR/" "$RES/Caddyfile.noidle"
start_server pyhttp_cgi-noidle "$NOIDLE" "$BIN" run --config "$RES/Caddyfile.noidle" --adapter caddyfile
NOIDLE_PID=$SERVER_PID

for port in "$OURS" "$PY"; do
	body=$(curl -sS -f "http://127.0.0.1:$port/cgi-bin/hello")
	if [ "$body" != hello ]; then
		echo "127.0.0.1:$port/cgi-bin/hello answered $body" >&2
		exit 1
	fi
done

TIMEFORMAT='%U %S'
CLK_TCK=$(getconf CLK_TCK)
# cpu_ticks PID: "own children" CPU ticks (utime+stime, cutime+cstime).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13, $14 + $15}'; }

if [ "${ONLY_BIG:-}" != 1 ]; then
# 1. hello: spawn limit, pyhttp_cgi, Python. Besides the rates, each
# round records where the CPU went, since the servers, their scripts and
# wrk share the same 2 cores: the server's own time and its reaped
# children's (the scripts) from /proc/PID/stat, wrk's and spawnbench's
# (with its children) from bash's time.
for round in $(seq "$ROUNDS"); do
	log "round $round: spawn limit"
	{ time "$OUT/spawnbench" "$TREE/cgi-bin/hello" 2 "$SECONDS_RUN" >"$RES/spawn.$round.txt"; } 2>"$RES/spawn.$round.cpu"
	for s in "pyhttp_cgi $OURS $OURS_PID" "python3-cgi $PY $PY_PID"; do
		read -r name port pid <<<"$s"
		log "round $round: $name"
		read -r own0 kids0 <<<"$(cpu_ticks "$pid")"
		{ time wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --latency \
			"http://127.0.0.1:$port/cgi-bin/hello" >"$RES/wrk.$name.$round.txt"; } 2>"$RES/wrk.$name.$round.cpu"
		read -r own1 kids1 <<<"$(cpu_ticks "$pid")"
		# requests, server s, scripts s, wrk s
		echo "$(awk '/requests in/ {print $1}' "$RES/wrk.$name.$round.txt")" \
			"$(awk -v a="$own0" -v b="$own1" -v t="$CLK_TCK" 'BEGIN {print (b - a) / t}')" \
			"$(awk -v a="$kids0" -v b="$kids1" -v t="$CLK_TCK" 'BEGIN {print (b - a) / t}')" \
			"$(awk '{print $1 + $2}' "$RES/wrk.$name.$round.cpu")" >>"$RES/cpu.$name.txt"
	done
	echo "$(awk '{print $2}' "$RES/spawn.$round.txt") $(awk '{print $1 + $2}' "$RES/spawn.$round.cpu")" \
		>>"$RES/cpu.spawn.txt"
done

# 1b. The same hello requests counted by curl, which reads a body that ends
# at connection close as complete (wrk counts some of Python's closes as
# read errors): CURL_REQS requests, 8 at a time (--parallel-max 8), timed.
for _ in $(seq "$CURL_REQS"); do
	printf 'url = "http://127.0.0.1:PORT/cgi-bin/hello"\noutput = "/dev/null"\n'
done >"$RES/curl-hello.cfg"
for s in "pyhttp_cgi $OURS" "python3-cgi $PY"; do
	read -r name port <<<"$s"
	sed "s/PORT/$port/" "$RES/curl-hello.cfg" >"$RES/curl-hello.$name.cfg"
	t0=$(date +%s.%N)
	curl -sS --no-progress-meter --parallel --parallel-max 8 -K "$RES/curl-hello.$name.cfg" \
		-w '%{http_code}\n' >"$RES/curl-hello.$name.codes"
	t1=$(date +%s.%N)
	echo "$(grep -c '^200$' "$RES/curl-hello.$name.codes") $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
		>"$RES/curl-hello.$name.txt"
done
fi

# 2. bigout: 100 MiB of script output, downloads alternating between servers.
# Variants: "name script address curl-options".
VARIANTS=("bigout bigout 127.0.0.1" "bigout-cl bigout-cl 127.0.0.1" "bigout-http1.0 bigout 127.0.0.1 -0"
	"bigout-cl-own bigout-cl $OWN_ADDR" "bigout-http1.0-own bigout $OWN_ADDR -0")
SERVERS="pyhttp_cgi:$OURS:$OURS_PID python3-cgi:$PY:$PY_PID pyhttp_cgi-noidle:$NOIDLE:$NOIDLE_PID"
for v in "${VARIANTS[@]}"; do
	read -r vname script addr copt <<<"$v"
	declare -A RSS0=()
	for s in $SERVERS; do
		IFS=: read -r name port pid <<<"$s"
		RSS0[$name]=$(rss_kib "$pid")
		reset_hwm "$pid"
	done
	log "$vname: $REPS downloads per server"
	for _ in $(seq "$REPS"); do
		for s in $SERVERS; do
			IFS=: read -r name port pid <<<"$s"
			read -r own0 _ <<<"$(cpu_ticks "$pid")"
			# shellcheck disable=SC2086 # copt is empty or one option
			curl -sS $copt -o /dev/null -w '%{http_code} %{size_download} %{speed_download}' \
				"http://$addr:$port/cgi-bin/$script" >>"$RES/big.$vname.$name.txt"
			read -r own1 _ <<<"$(cpu_ticks "$pid")"
			# the server process's own CPU over the download, in ms
			echo " $(((own1 - own0) * 1000 / CLK_TCK))" >>"$RES/big.$vname.$name.txt"
		done
	done
	for s in $SERVERS; do
		IFS=: read -r name port pid <<<"$s"
		echo "${RSS0[$name]} $(hwm_kib "$pid")" >"$RES/big.$vname.$name.rss"
		strace -f -c -e trace=read,write,writev,sendfile,splice \
			-o "$RES/strace.$vname.$name.txt" -p "$pid" 2>/dev/null &
		spid=$!
		sleep 1
		# shellcheck disable=SC2086
		curl -sS $copt -o /dev/null "http://$addr:$port/cgi-bin/$script"
		kill -INT "$spid"
		wait "$spid" || true
	done
done

wrkfield() {
	awk '/^Requests\/sec:/ {r=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2}
		END {print r, p50, p99}' "$1"
}
calls() { awk -v s="$2" '$NF==s {print $4; f=1} END {if (!f) print 0}' "$1"; }

machine_info
echo "wrk:     $(wrk -v 2>&1 | head -1)"
echo "gcc:     $(gcc --version | head -1)"
echo "load:   $(uptime)"
echo
if [ "${ONLY_BIG:-}" != 1 ]; then
for round in $(seq "$ROUNDS"); do
	awk '{print $6}' "$RES/spawn.$round.txt"
done >"$RES/spawn.rounds"
SPAWN=$(median <"$RES/spawn.rounds")

echo "hello CGI (bench/hello.c, dynamically linked): $ROUNDS rounds of ${SECONDS_RUN}s, median round"
echo
echo "| what | requests/s (median) | all rounds | p50 | p99 | median / median spawn limit | same-round ratios |"
echo "|---|---:|---|---:|---:|---:|---|"
printf '| spawn limit (spawnbench, 2 threads, no HTTP) | %.0f | %s | | | 1.00x | |\n' "$SPAWN" \
	"$(awk '{printf "%s%.0f", (NR>1 ? ", " : ""), $1}' "$RES/spawn.rounds")"
for name in pyhttp_cgi python3-cgi; do
	for round in $(seq "$ROUNDS"); do wrkfield "$RES/wrk.$name.$round.txt"; done >"$RES/wrk.$name.rounds"
	read -r rps p50 p99 <<<"$(sort -g -k1,1 "$RES/wrk.$name.rounds" | awk -v n="$ROUNDS" 'NR == int((n+1)/2)')"
	# Each round's wrk ran right after that round's spawnbench: the pair
	# saw about the same machine load.
	paired=$(paste "$RES/wrk.$name.rounds" "$RES/spawn.rounds" |
		awk '{printf "%s%.2f", (NR>1 ? ", " : ""), $1 / $4}')
	printf '| %s (wrk -t2 -c%s) | %.0f | %s | %s | %s | %.2fx | %s |\n' "$name" "$CONNS" "$rps" \
		"$(awk '{printf "%s%.0f", (NR>1 ? ", " : ""), $1}' "$RES/wrk.$name.rounds")" "$p50" "$p99" \
		"$(awk -v a="$rps" -v b="$SPAWN" 'BEGIN {print a / b}')" "$paired"
done
for name in pyhttp_cgi python3-cgi; do
	if grep -q 'Socket errors\|Non-2xx' "$RES/wrk.$name.1.txt"; then
		echo
		echo "$name, wrk round 1: $(grep 'Socket errors\|Non-2xx' "$RES/wrk.$name.1.txt" | tr -s ' ' | paste -sd';')"
	fi
done
echo
echo "CPU per hello request, all rounds: server process, its CGI children (reaped, from cutime+cstime), the load generator; 2 cores = 2000 ms of CPU per second"
echo
echo "| what | requests | server ms/req | scripts ms/req | load generator ms/req | total ms/req |"
echo "|---|---:|---:|---:|---:|---:|"
awk '{n += $1; c += $2} END {printf "| spawnbench (parent + children) | %d | | | | %.3f |\n", n, c * 1000 / n}' "$RES/cpu.spawn.txt"
for name in pyhttp_cgi python3-cgi; do
	awk -v name="$name" '{n += $1; s += $2; k += $3; w += $4}
		END {printf "| %s | %d | %.3f | %.3f | %.3f (wrk) | %.3f |\n", name, n, s * 1000 / n, k * 1000 / n, w * 1000 / n, (s + k + w) * 1000 / n}' \
		"$RES/cpu.$name.txt"
done
echo
echo "hello CGI counted by curl: $CURL_REQS requests, curl --parallel --parallel-max 8 (keep-alive where the server allows it)"
echo
echo "| server | 200 responses | seconds | requests/s | vs spawn limit (median) |"
echo "|---|---:|---:|---:|---:|"
for name in pyhttp_cgi python3-cgi; do
	read -r ok secs <"$RES/curl-hello.$name.txt"
	awk -v n="$name" -v ok="$ok" -v s="$secs" -v sp="$SPAWN" \
		'BEGIN {printf "| %s | %d | %.2f | %.0f | %.2fx |\n", n, ok, s, ok / s, ok / s / sp}'
done
echo
echo
fi
echo "100 MiB of CGI output (bench/bigout.c, 1 MiB writes): curl -o /dev/null, $REPS downloads per server and variant, alternating, median; syscall counts are strace -f -c of one more download, server and script together (the script itself makes about 100 writes). bigout-cl declares Content-Length; bigout-http1.0 is curl -0; -own rows go to $OWN_ADDR instead of 127.0.0.1 (pyhttp_cgi splices only for a client not on loopback); pyhttp_cgi-noidle runs with Caddy's write_idle timeout off"
echo
echo "| variant | server | GB/s (median) | vs python3-cgi | all | server CPU ms/download (mean) | RSS before MiB | peak RSS MiB | read calls | write calls | splice |"
echo "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"
for v in "${VARIANTS[@]}"; do
	read -r vname _ <<<"$v"
	pymed=$(awk '{print $3 / 1e9}' "$RES/big.$vname.python3-cgi.txt" | median)
	for s in $SERVERS; do
		IFS=: read -r name _ _ <<<"$s"
		f=$RES/big.$vname.$name.txt
		if awk '$1 != 200 || $2 != 104857600 {bad=1} END {exit !bad}' "$f"; then
			echo "$vname $name: a download was short or not 200:" >&2
			cat "$f" >&2
			exit 1
		fi
		read -r r0 hwm <"$RES/big.$vname.$name.rss"
		st=$RES/strace.$vname.$name.txt
		med=$(awk '{print $3 / 1e9}' "$f" | median)
		printf '| %s | %s | %.2f | %.2fx | %s | %.0f | %.1f | %.1f | %s | %s | %s |\n' "$vname" "$name" "$med" \
			"$(awk -v a="$med" -v b="$pymed" 'BEGIN {print a / b}')" \
			"$(awk '{printf "%s%.2f", (NR>1 ? ", " : ""), $3 / 1e9}' "$f")" \
			"$(awk '{c += $4} END {print c / NR}' "$f")" \
			"$(awk -v k="$r0" 'BEGIN {print k / 1024}')" "$(awk -v k="$hwm" 'BEGIN {print k / 1024}')" \
			"$(calls "$st" read)" "$(calls "$st" write)" "$(calls "$st" splice)"
	done
done
