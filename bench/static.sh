#!/usr/bin/env bash
# static.sh: static file serving, pyhttp_simple against caddy file-server.
#
# 1. Requests/second for a 1 KiB file with wrk (-t2 -c64 -d10s by default,
#    the same settings for every server), ROUNDS rounds alternating the
#    servers so drift hits them alike; the table gives the median round.
# 2. Throughput of a 100 MiB file (page-cached) with curl -o /dev/null,
#    REPS downloads per server, alternating; median of %{speed_download}.
# 3. Which system calls carry the 100 MiB body: strace -f -c on the server
#    process during one more download (sendfile vs read+write).
#
# Servers, all on 127.0.0.1 and all running during the whole script:
#   pyhttp_simple      our handler (Caddyfile, admin off, no access log)
#   file-server        caddy file-server --no-compress, the same binary
#   net-http           bench/gofs.go, net/http.FileServer, for reference
#   pyhttp_simple-noidle  pyhttp_simple with Caddy's write idle timeout off
#                      (servers { timeouts { write_idle -1s } }): a
#                      diagnostic, not a configuration to ship. Caddy's
#                      IdleTimeoutWriter hands ReadFrom one io.LimitReader
#                      per 64 KiB chunk: one sendfile per 64 KiB with it, a
#                      few large ones without. Before 42b50cc, the second
#                      LimitReader of http.ServeContent's io.CopyN hid the
#                      *os.File from net's sendFile and the body went through
#                      32 KiB read/write pairs (file-server still does).
#
# Environment: ROUNDS (default 3), DURATION (default 10s), CONNS (default
# 64), REPS (default 5), BENCH_PORT (default 18200), BENCH_OUT.
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
REPS=${REPS:-5}
PORT=${BENCH_PORT:-18200}

need curl curl
need wrk wrk
need strace strace
build_caddy
build_gofs

TREE=$OUT/static-tree
mkdir -p "$TREE"
[ -f "$TREE/1k.txt" ] || head -c 1024 /dev/urandom | base64 -w 64 | head -c 1024 >"$TREE/1k.txt"
[ -f "$TREE/100m.bin" ] || head -c $((100 * 1024 * 1024)) /dev/urandom >"$TREE/100m.bin"
cat "$TREE/100m.bin" >/dev/null # into the page cache
RES=$OUT/static
rm -rf "$RES"
mkdir -p "$RES"

NAMES=(pyhttp_simple file-server net-http pyhttp_simple-noidle)
declare -A PORTOF PIDOF
PORTOF[pyhttp_simple]=$PORT
PORTOF[file-server]=$((PORT + 1))
PORTOF[net-http]=$((PORT + 2))
PORTOF[pyhttp_simple-noidle]=$((PORT + 3))

caddyfile "$RES/Caddyfile" "${PORTOF[pyhttp_simple]}" "	root * $TREE
	pyhttp_simple"
start_server pyhttp_simple "${PORTOF[pyhttp_simple]}" "$BIN" run --config "$RES/Caddyfile" --adapter caddyfile
PIDOF[pyhttp_simple]=$SERVER_PID
start_server file-server "${PORTOF[file-server]}" "$BIN" file-server \
	--listen "127.0.0.1:${PORTOF[file-server]}" --root "$TREE" --no-compress
PIDOF[file-server]=$SERVER_PID
start_server net-http "${PORTOF[net-http]}" "$OUT/gofs" "127.0.0.1:${PORTOF[net-http]}" "$TREE"
PIDOF[net-http]=$SERVER_PID
caddyfile "$RES/Caddyfile.noidle" "${PORTOF[pyhttp_simple-noidle]}" "	root * $TREE
	pyhttp_simple" "	servers {
		timeouts {
			write_idle -1s
		}
	}"
start_server pyhttp_simple-noidle "${PORTOF[pyhttp_simple-noidle]}" "$BIN" run --config "$RES/Caddyfile.noidle" --adapter caddyfile
PIDOF[pyhttp_simple-noidle]=$SERVER_PID

# Every server must serve the same bytes before it is timed.
for name in "${NAMES[@]}"; do
	for f in 1k.txt 100m.bin; do
		curl -sS -f -o "$RES/$name.$f" "http://127.0.0.1:${PORTOF[$name]}/$f"
		cmp "$RES/$name.$f" "$TREE/$f"
		rm -f "$RES/$name.$f"
	done
done

# 1. wrk on the 1 KiB file.
for round in $(seq "$ROUNDS"); do
	for name in "${NAMES[@]}"; do
		log "wrk round $round: $name"
		wrk -t2 -c"$CONNS" -d"$DURATION" --latency \
			"http://127.0.0.1:${PORTOF[$name]}/1k.txt" >"$RES/wrk.$name.$round.txt"
		if grep -q 'Non-2xx\|Socket errors' "$RES/wrk.$name.$round.txt"; then
			cat "$RES/wrk.$name.$round.txt" >&2
		fi
	done
done

# wrkfield FILE: requests/s, p50 and p99 latency of one wrk run.
wrkfield() {
	awk '/^Requests\/sec:/ {r=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2}
		END {print r, p50, p99}' "$1"
}

# 2. curl on the 100 MiB file.
for rep in $(seq "$REPS"); do
	for name in "${NAMES[@]}"; do
		curl -sS -o /dev/null -w '%{http_code} %{speed_download}\n' \
			"http://127.0.0.1:${PORTOF[$name]}/100m.bin" >>"$RES/curl.$name.txt"
	done
done

# 3. strace -c during one 100 MiB download.
for name in "${NAMES[@]}"; do
	strace -f -c -e trace=sendfile,copy_file_range,splice,read,write,writev \
		-o "$RES/strace.$name.txt" -p "${PIDOF[$name]}" 2>/dev/null &
	spid=$!
	sleep 1 # let strace attach to every thread
	curl -sS -o /dev/null "http://127.0.0.1:${PORTOF[$name]}/100m.bin"
	kill -INT "$spid"
	wait "$spid" || true
done

# calls FILE SYSCALL: the call count strace -c reports for SYSCALL.
calls() { awk -v s="$2" '$NF==s {print $4; f=1} END {if (!f) print 0}' "$1"; }

machine_info
echo "wrk:     $(wrk -v 2>&1 | head -1)"
echo "curl:    $(curl --version | head -1)"
echo
echo "1 KiB file: wrk -t2 -c$CONNS -d$DURATION --latency, $ROUNDS rounds, median round by requests/s"
echo
echo "| server | requests/s (median) | all rounds | p50 | p99 | vs file-server |"
echo "|---|---:|---|---:|---:|---:|"
declare -A MED ALL
for name in "${NAMES[@]}"; do
	for round in $(seq "$ROUNDS"); do
		wrkfield "$RES/wrk.$name.$round.txt"
	done >"$RES/wrk.$name.rounds"
	MED[$name]=$(sort -g -k1,1 "$RES/wrk.$name.rounds" | awk -v n="$ROUNDS" 'NR == int((n+1)/2)')
	ALL[$name]=$(awk '{printf "%s%.0f", (NR>1 ? ", " : ""), $1}' "$RES/wrk.$name.rounds")
done
for name in "${NAMES[@]}"; do
	read -r rps p50 p99 <<<"${MED[$name]}"
	ratio=$(awk -v a="$rps" -v b="${MED[file-server]%% *}" 'BEGIN {printf "%.2fx", a / b}')
	printf '| %s | %.0f | %s | %s | %s | %s |\n' "$name" "$rps" "${ALL[$name]}" "$p50" "$p99" "$ratio"
done
echo
echo "100 MiB file: curl -o /dev/null, $REPS downloads each, %{speed_download} (GB = 10^9 bytes)"
echo
echo "| server | GB/s (median) | all | sendfile calls | read calls | write calls | copy_file_range | splice |"
echo "|---|---:|---|---:|---:|---:|---:|---:|"
for name in "${NAMES[@]}"; do
	if grep -vq '^200 ' "$RES/curl.$name.txt"; then
		echo "$name: a download did not return 200" >&2
		exit 1
	fi
	med=$(awk '{print $2 / 1e9}' "$RES/curl.$name.txt" | median)
	all=$(awk '{printf "%s%.2f", (NR>1 ? ", " : ""), $2 / 1e9}' "$RES/curl.$name.txt")
	s=$RES/strace.$name.txt
	printf '| %s | %.2f | %s | %s | %s | %s | %s | %s |\n' "$name" "$med" "$all" \
		"$(calls "$s" sendfile)" "$(calls "$s" read)" "$(calls "$s" write)" \
		"$(calls "$s" copy_file_range)" "$(calls "$s" splice)"
done
