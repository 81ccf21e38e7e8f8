#!/usr/bin/env bash
# listing.sh: time GET /big/ on a directory of 100,000 entries.
#
# Servers, on the same tree, each on 127.0.0.1:
#   pyhttp_simple        our handler (Caddyfile, admin off, no access log)
#   python3 http.server  the reference implementation (python3 -m http.server)
#   caddy file-server    Caddy's own browse listing, same binary, --no-compress
#   net/http FileServer  bench/gofs.go, Go's bare directory listing
# All four run at once on consecutive ports and the requests alternate
# between them. For each: one warm-up request, then RUNS timed curl
# requests (median, min, max; FS_RUNS for file-server, which takes seconds
# per request), the peak RSS of the server process over those requests (VmHWM
# after resetting it through /proc/PID/clear_refs), and whether the body
# is byte-identical (cmp) to Python's.
#
# Environment: RUNS (default 20), FS_RUNS (default 5), ENTRIES (default
# 100000), BENCH_PORT (default 18100), BENCH_OUT (default bench/out). Results go to
# $BENCH_OUT/listing/ and a Markdown table to stdout. BASE_BIN, if set, is
# another build of the Caddy binary (an older commit, say) run as a fifth
# server, pyhttp_simple@base, with the same Caddyfile, so that before and
# after are timed in one run.
source "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-20}
FS_RUNS=${FS_RUNS:-5}
ENTRIES=${ENTRIES:-100000}
PORT=${BENCH_PORT:-18100}

need curl curl
need python3 python3
build_caddy
build_gofs

TREE=$OUT/listing-tree
if [ ! -f "$TREE/.made-$ENTRIES" ]; then
	log "making $ENTRIES entries under $TREE/big (once; reused afterwards)"
	rm -rf "$TREE"
	mkdir -p "$TREE"
	python3 "$REPO/bench/mktree.py" "$TREE" "$ENTRIES" >/dev/null
	touch "$TREE/.made-$ENTRIES"
fi
RES=$OUT/listing
rm -rf "$RES"
mkdir -p "$RES"

caddyfile "$RES/Caddyfile" "$PORT" "	root * $TREE
	pyhttp_simple"

NAMES=(pyhttp_simple python3 file-server net-http)
if [ -n "${BASE_BIN:-}" ]; then
	NAMES+=(pyhttp_simple@base)
fi
declare -A PORTOF PIDOF MED MIN MAX HWM RSS0 SIZE
i=0
for name in "${NAMES[@]}"; do
	PORTOF[$name]=$((PORT + i))
	i=$((i + 1))
done
start_server pyhttp_simple "${PORTOF[pyhttp_simple]}" "$BIN" run --config "$RES/Caddyfile" --adapter caddyfile
PIDOF[pyhttp_simple]=$SERVER_PID
start_server python3 "${PORTOF[python3]}" python3 -m http.server "${PORTOF[python3]}" -b 127.0.0.1 -d "$TREE"
PIDOF[python3]=$SERVER_PID
start_server file-server "${PORTOF[file-server]}" "$BIN" file-server --listen "127.0.0.1:${PORTOF[file-server]}" \
	--root "$TREE" --browse --no-compress --file-limit $((ENTRIES * 2))
PIDOF[file-server]=$SERVER_PID
start_server net-http "${PORTOF[net-http]}" "$OUT/gofs" "127.0.0.1:${PORTOF[net-http]}" "$TREE"
PIDOF[net-http]=$SERVER_PID
if [ -n "${BASE_BIN:-}" ]; then
	caddyfile "$RES/Caddyfile.base" "${PORTOF[pyhttp_simple@base]}" "	root * $TREE
	pyhttp_simple"
	start_server pyhttp_simple@base "${PORTOF[pyhttp_simple@base]}" "$BASE_BIN" run --config "$RES/Caddyfile.base" --adapter caddyfile
	PIDOF[pyhttp_simple@base]=$SERVER_PID
fi

# All four servers run side by side and the requests alternate between
# them, so a change in machine load during the run hits each alike.
for name in "${NAMES[@]}"; do
	RSS0[$name]=$(rss_kib "${PIDOF[$name]}")
	reset_hwm "${PIDOF[$name]}"
done
for run in $(seq 0 "$RUNS"); do
	for name in "${NAMES[@]}"; do
		# file-server takes seconds per request; FS_RUNS of them suffice.
		if [ "$name" = file-server ] && [ "$run" -gt "$FS_RUNS" ]; then
			continue
		fi
		line=$(curl -sS -o "$RES/$name.body" -w '%{http_code} %{time_total}' \
			"http://127.0.0.1:${PORTOF[$name]}/big/")
		if [ "${line%% *}" != 200 ]; then
			echo "$name: GET /big/ answered ${line%% *}" >&2
			exit 1
		fi
		if [ "$run" -gt 0 ]; then # run 0 warms up
			echo "${line#* }" >>"$RES/$name.times"
		fi
	done
done
for name in "${NAMES[@]}"; do
	HWM[$name]=$(hwm_kib "${PIDOF[$name]}")
	MED[$name]=$(median <"$RES/$name.times")
	MIN[$name]=$(sort -g "$RES/$name.times" | head -1)
	MAX[$name]=$(sort -g "$RES/$name.times" | tail -1)
	SIZE[$name]=$(stat -c %s "$RES/$name.body")
	log "$name: median ${MED[$name]} s, peak RSS ${HWM[$name]} KiB"
done

ms() { awk -v s="$1" 'BEGIN {printf "%.1f", s * 1000}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

machine_info
echo
echo "GET /big/ ($ENTRIES entries), $RUNS runs each ($FS_RUNS for file-server) after one warm-up, alternating servers, curl, loopback"
echo
echo "| server | median ms | min ms | max ms | Python / this (median) | Python / this (min) | RSS before MiB | peak RSS MiB | body bytes | same bytes as Python |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for name in "${NAMES[@]}"; do
	same=no
	cmp -s "$RES/$name.body" "$RES/python3.body" && same=yes
	ratio=$(awk -v p="${MED[python3]}" -v t="${MED[$name]}" 'BEGIN {printf "%.1fx", p / t}')
	ratiomin=$(awk -v p="${MIN[python3]}" -v t="${MIN[$name]}" 'BEGIN {printf "%.1fx", p / t}')
	echo "| $name | $(ms "${MED[$name]}") | $(ms "${MIN[$name]}") | $(ms "${MAX[$name]}") | $ratio | $ratiomin | $(mib "${RSS0[$name]}") | $(mib "${HWM[$name]}") | ${SIZE[$name]} | $same |"
done
if ! cmp "$RES/pyhttp_simple.body" "$RES/python3.body"; then
	echo "pyhttp_simple's listing differs from Python's (bodies in $RES)" >&2
	exit 1
fi
