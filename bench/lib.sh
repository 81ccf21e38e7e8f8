# shellcheck shell=bash
# lib.sh: helpers sourced by the benchmark scripts in this directory.
#
# Every script builds the Caddy binary itself, installs the tools it lacks
# with apt-get, writes only under $OUT (default bench/out, gitignored), binds
# only to 127.0.0.1, and kills every server it started when it exits, even on
# failure (trap on EXIT).

set -euo pipefail
umask 022 # CGI scripts run as nobody (we are root): the tree must be readable

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${BENCH_OUT:-$REPO/bench/out}
BIN=$OUT/pyhttp-caddy
mkdir -p "$OUT"

# PIDS holds every server started by start_server; cleanup kills them.
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		# Caddy shuts down gracefully on SIGTERM; give it 5 s, then SIGKILL.
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*" >&2; }

# need CMD PKG: install the Debian package PKG if CMD is missing.
APT_UPDATED=
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	log "installing $2"
	if [ -z "$APT_UPDATED" ]; then
		apt-get update -qq
		APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# build_caddy builds the module's Caddy binary (pyhttp handlers plus Caddy's
# standard modules) into $BIN.
build_caddy() {
	log "go build -o $BIN ./cmd/caddy"
	(cd "$REPO" && go build -o "$BIN" ./cmd/caddy)
}

# build_gofs builds the reference net/http.FileServer (bench/gofs.go carries
# a build tag that keeps it out of ./... ; naming the file overrides it).
build_gofs() {
	(cd "$REPO" && go build -o "$OUT/gofs" bench/gofs.go)
}

# port_busy PORT: true if something already listens on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_server NAME PORT CMD...: start CMD in the background with output to
# $OUT/NAME.log, remember its pid in SERVER_PID and PIDS, and wait until
# 127.0.0.1:PORT accepts connections (30 s at most).
SERVER_PID=
start_server() {
	local name=$1 port=$2
	shift 2
	if port_busy "$port"; then
		echo "port $port is already in use; set BENCH_PORT to another base" >&2
		exit 1
	fi
	"$@" >"$OUT/$name.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	for _ in $(seq 300); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			echo "$name exited early; log:" >&2
			cat "$OUT/$name.log" >&2
			exit 1
		fi
		port_busy "$port" && return 0
		sleep 0.1
	done
	echo "$name did not listen on $port within 30 s" >&2
	exit 1
}

# stop_server PID: stop one server now (cleanup still covers it otherwise).
stop_server() {
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local keep=() p
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# caddyfile FILE PORT BODY [GLOBAL]: write a Caddyfile serving BODY on
# 127.0.0.1:PORT with the admin endpoint, automatic HTTPS and config
# persistence off, and no access log (Caddy logs no requests unless a log
# directive asks); GLOBAL is added to the global options.
caddyfile() {
	cat >"$1" <<CF
{
	admin off
	auto_https off
	persist_config off
${4:-}
}

http://:$2 {
	bind 127.0.0.1
$3
}
CF
}

# reset_hwm PID: reset the peak resident set size (VmHWM) of PID to its
# current RSS (proc(5), clear_refs value 5), so hwm_kib measures one phase.
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }

# rss_kib / hwm_kib PID: current / peak resident set size in KiB.
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# median: median of the numbers on stdin, one per line.
median() {
	sort -g | awk '{a[NR]=$1} END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'
}

# machine_info: the facts BENCHMARKS.md records for each run.
machine_info() {
	echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host:    $(uname -srm), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "load:    $(cut -d" " -f1-3 /proc/loadavg) (1, 5, 15 min load average at the end of the run)"
	echo "memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "go:      $(go version)"
	echo "python:  $(python3 --version 2>&1) ($(command -v python3))"
	local dirty
	dirty=$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
	echo "commit:  $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown) ($dirty tracked files modified in the work tree)"
}
