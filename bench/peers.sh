#!/usr/bin/env bash
# peers.sh: the CGI paths of issue 10 side by side, in one run: pyhttp_cgi
# against the raw spawn limit, against the other CGI servers (the peers),
# and the idle memory the module adds to Caddy.
#
# 1. hello CGI, three scripts: bench/hello.c (gcc -O2), hello.sh
#    (#!/bin/sh + printf) and hello.py (#!/usr/bin/python3, print). Each
#    round runs, for each script: the spawn limit (bench/spawnbench.c, 2
#    workers, SECONDS_RUN seconds), then wrk -t2 -cCONNS against
#    `caddy pyhttp-server --cgi` (its default access log on, to a file),
#    then against a Caddyfile site with pyhttp_cgi (no access log). Then
#    (PEER_HELLO=1) the compiled hello through every peer. Ratios are taken
#    against the same round's spawn limit of the same script; the targets
#    are 0.85x (compiled), 0.9x (/bin/sh), 0.95x (Python).
# 2. UPLOAD_MIB (10) MiB POSTed to bench/sink.c (reads stdin to EOF or
#    CONTENT_LENGTH bytes, answers with the length and a checksum) and to
#    bench/echo.c (writes its header at once, then copies stdin to stdout
#    as it arrives), through
#    pyhttp_cgi, `caddy pyhttp-server --cgi` and every peer: curl
#    --data-binary -H 'Expect:', REPS requests per server, the order of the
#    servers rotated every rep. Every upload answer must carry the expected
#    length and checksum, every echo the full length (and one echo per server
#    is compared byte for byte first); a server that answers wrong or not
#    within STALL_SECONDS is reported as failed (and the script exits 1 if
#    that server is ours).
# 3. Idle RSS: Caddy built from the same go.mod without the module
#    (bench/caddystd.go) against ours, both with the same file_server
#    Caddyfile, and ours with a pyhttp_cgi site and as pyhttp-server --cgi:
#    started together, RSS_REQS requests each, 2 s idle, VmRSS; RSS_ROUNDS
#    fresh starts, median. Target: at most +2 MiB.
#
# The peers (each with its own configuration under $OUT/peers, bound to
# 127.0.0.1, no access log unless said, all started as root):
#   python3 -m http.server --cgi (pyenv's python3): setuid(nobody) in each
#     forked script; access log to stderr, i.e. to its log file.
#   Go net/http/cgi (bench/gocgi.go): cannot switch users, so the whole
#     server runs as nobody (setpriv), and its scripts with it.
#   lighttpd 1.4 mod_cgi: cgi.assign ("" => "") under /cgi-bin/ (its
#     docs' form), server.username nobody: drops to nobody after binding.
#   Apache 2.4, event MPM + mod_cgid, ScriptAlias /cgi-bin/: master root,
#     children and the cgid daemon (hence the scripts) as User nobody.
#   nginx + fcgiwrap: the Debian example location (include fastcgi_params,
#     SCRIPT_FILENAME), client_max_body_size 0 (its default, 1m, refuses the
#     uploads); workers as nobody, fcgiwrap -c 4 as nobody.
# A peer that is not installed and cannot be installed is skipped with a
# message. On a systemd machine, installing apache2, lighttpd or nginx
# starts their own services on port 80; this script never uses them.
#
# Environment: ROUNDS (3), SECONDS_RUN (5), CONNS (8), PEER_HELLO (1),
# REPS (10), UPLOAD_MIB (10), STALL_SECONDS (15), RSS_ROUNDS (3), RSS_REQS
# (20), BENCH_PORT (18500; uses BENCH_PORT..BENCH_PORT+13), BENCH_OUT.
# Defaults take about 5-6 minutes (two peers stall on the echo: 2 x STALL_SECONDS).
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
SECONDS_RUN=${SECONDS_RUN:-5}
CONNS=${CONNS:-8}
PEER_HELLO=${PEER_HELLO:-1}
REPS=${REPS:-10}
UPLOAD_MIB=${UPLOAD_MIB:-10}
STALL_SECONDS=${STALL_SECONDS:-15}
RSS_ROUNDS=${RSS_ROUNDS:-3}
RSS_REQS=${RSS_REQS:-20}
PORT=${BENCH_PORT:-18500}
PATH=$PATH:/usr/sbin:/sbin

START_LOAD=$(cut -d" " -f1-3 /proc/loadavg)
START_DATE=$(date -u '+%H:%M UTC')

# Ports: ours first, then the peers, then the RSS servers.
P_CGI=$PORT           # Caddyfile site with pyhttp_cgi
P_CMD=$((PORT + 1))   # caddy pyhttp-server --cgi
P_PY=$((PORT + 2))    # python3 -m http.server --cgi
P_GO=$((PORT + 3))    # Go net/http/cgi
P_LIGHTTPD=$((PORT + 4))
P_APACHE=$((PORT + 5))
P_NGINX=$((PORT + 6))
P_RSS_STD=$((PORT + 10))
P_RSS_FS=$((PORT + 11))
P_RSS_CGI=$((PORT + 12))
P_RSS_CMD=$((PORT + 13))
for p in $(seq "$PORT" $((PORT + 13))); do
	if port_busy "$p"; then
		echo "port $p is already in use; set BENCH_PORT to another base (this script uses BENCH_PORT..BENCH_PORT+13)" >&2
		exit 1
	fi
done

# Every server is started in a session of its own (setsid), so that on exit
# the whole process group goes: the preforked fcgiwrap children, Apache's
# children, and scripts a stalled server left blocked. PGIDS holds the
# groups; only a group whose leader we started is ever signalled.
PGIDS=()
peers_cleanup() {
	local g
	for g in "${PGIDS[@]}"; do
		kill -TERM -- "-$g" 2>/dev/null || true
	done
	cleanup
	for g in "${PGIDS[@]}"; do
		kill -KILL -- "-$g" 2>/dev/null || true
	done
	PGIDS=()
}
trap peers_cleanup EXIT

# own_group PID: remember PID's process group if PID leads it.
own_group() {
	local g
	g=$(sed 's/.*) //' "/proc/$1/stat" | awk '{print $3}')
	if [ "$g" = "$1" ]; then
		PGIDS+=("$1")
	else
		log "warning: $1 is not a group leader (pgid $g); only the process itself will be stopped"
	fi
}

# start_group NAME PORT CMD...: start_server in a new session.
start_group() {
	local name=$1 port=$2
	shift 2
	start_server "$name" "$port" setsid "$@"
	own_group "$SERVER_PID"
}

# stop_group PID: stop one server and its process group now.
stop_group() {
	kill -TERM -- "-$1" 2>/dev/null || true
	stop_server "$1"
	kill -KILL -- "-$1" 2>/dev/null || true
	local keep=() g
	for g in "${PGIDS[@]}"; do
		[ "$g" = "$1" ] || keep+=("$g")
	done
	PGIDS=("${keep[@]}")
}

# want CMD PKG: like need, but a package that cannot be installed is
# reported and skipped (returns 1) instead of ending the run.
want() {
	command -v "$1" >/dev/null 2>&1 && return 0
	log "installing $2"
	if [ -z "$APT_UPDATED" ]; then
		apt-get update -qq || true
		APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 || true
	command -v "$1" >/dev/null 2>&1 && return 0
	log "SKIPPED: $2 cannot be installed ($1 not found)"
	return 1
}

need curl curl
need wrk wrk
need gcc gcc
need python3 python3
need setpriv util-linux
need setsid util-linux
[ -x /usr/bin/python3 ] || need /usr/bin/python3 python3
build_caddy
log "go build -o $OUT/caddy-std bench/caddystd.go"
(cd "$REPO" && go build -o "$OUT/caddy-std" bench/caddystd.go)
log "go build -o $OUT/gocgi bench/gocgi.go"
(cd "$REPO" && go build -o "$OUT/gocgi" bench/gocgi.go)

PEERS=(python3 gocgi)
SKIPPED=()
if want lighttpd lighttpd; then PEERS+=(lighttpd); else SKIPPED+=("lighttpd (not installable)"); fi
if want apache2 apache2; then
	if [ -f /usr/lib/apache2/modules/mod_cgid.so ] && [ -f /usr/lib/apache2/modules/mod_mpm_event.so ]; then
		PEERS+=(apache)
	else
		log "SKIPPED: apache2 lacks mod_cgid or mod_mpm_event"
		SKIPPED+=("apache (no mod_cgid/mpm_event)")
	fi
else
	SKIPPED+=("apache (not installable)")
fi
if want nginx nginx && want fcgiwrap fcgiwrap; then PEERS+=(nginx); else SKIPPED+=("nginx+fcgiwrap (not installable)"); fi

RES=$OUT/peers
TREE=$OUT/peers-tree
rm -rf "$RES" "$TREE"
mkdir -p "$RES" "$TREE/cgi-bin"
gcc -O2 -Wall -o "$TREE/cgi-bin/hello" "$REPO/bench/hello.c"
gcc -O2 -Wall -o "$TREE/cgi-bin/sink" "$REPO/bench/sink.c"
gcc -O2 -Wall -o "$TREE/cgi-bin/echo" "$REPO/bench/echo.c"
gcc -O2 -Wall -pthread -o "$OUT/spawnbench" "$REPO/bench/spawnbench.c"
printf '#!/bin/sh\nprintf '"'"'Content-Type: text/plain\\r\\n\\r\\nhello\\n'"'"'\n' >"$TREE/cgi-bin/hello.sh"
printf '#!/usr/bin/python3\nprint("Content-Type: text/plain")\nprint()\nprint("hello")\n' >"$TREE/cgi-bin/hello.py"
chmod 755 "$TREE/cgi-bin/hello.sh" "$TREE/cgi-bin/hello.py"
echo "static" >"$TREE/index.html"
for s in hello hello.sh hello.py; do
	body=$("$TREE/cgi-bin/$s" | tr -d '\r')
	if [ "$body" != "$(printf 'Content-Type: text/plain\n\nhello')" ]; then
		echo "$TREE/cgi-bin/$s printed: $body" >&2
		exit 1
	fi
done

# The request body and the answers it must get.
BYTES=$((UPLOAD_MIB * 1048576))
head -c "$BYTES" /dev/urandom >"$RES/upload.bin"
"$TREE/cgi-bin/sink" <"$RES/upload.bin" | sed '1,2d' >"$RES/upload.expected"

# --- servers -----------------------------------------------------------------

declare -A PORT_OF=([pyhttp_cgi]=$P_CGI [pyhttp-server]=$P_CMD [python3]=$P_PY [gocgi]=$P_GO
	[lighttpd]=$P_LIGHTTPD [apache]=$P_APACHE [nginx]=$P_NGINX)
declare -A LABEL=([pyhttp_cgi]="pyhttp_cgi (Caddyfile, no access log)"
	[pyhttp-server]="caddy pyhttp-server --cgi (access log to a file)"
	[python3]="python3 -m http.server --cgi" [gocgi]="Go net/http/cgi (bench/gocgi.go)"
	[lighttpd]="lighttpd mod_cgi" [apache]="Apache event + mod_cgid" [nginx]="nginx + fcgiwrap")

caddyfile "$RES/Caddyfile" "$P_CGI" "	root * $TREE
	pyhttp_cgi"
start_group pyhttp_cgi "$P_CGI" "$BIN" run --config "$RES/Caddyfile" --adapter caddyfile
start_group pyhttp-server "$P_CMD" "$BIN" pyhttp-server --cgi -b 127.0.0.1 -d "$TREE" "$P_CMD"

start_peer() {
	local d=$RES/$1
	mkdir -p "$d"
	case $1 in
	python3)
		start_group python3 "$P_PY" python3 -m http.server --cgi "$P_PY" -b 127.0.0.1 -d "$TREE"
		;;
	gocgi)
		start_group gocgi "$P_GO" setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$OUT/gocgi" "127.0.0.1:$P_GO" "$TREE"
		;;
	lighttpd)
		# lighttpd opens its error log after dropping to nobody.
		mkdir -p "$d/upload" "$d/log"
		chown nobody:nogroup "$d/upload" "$d/log"
		cat >"$d/lighttpd.conf" <<EOF
server.modules = ( "mod_cgi" )
server.document-root = "$TREE"
server.bind = "127.0.0.1"
server.port = $P_LIGHTTPD
server.username = "nobody"
server.groupname = "nogroup"
server.errorlog = "$d/log/error.log"
server.upload-dirs = ( "$d/upload" )
\$HTTP["url"] =~ "^/cgi-bin/" {
	cgi.assign = ( "" => "" )
}
EOF
		start_group lighttpd "$P_LIGHTTPD" lighttpd -D -f "$d/lighttpd.conf"
		;;
	apache)
		mkdir -p "$d/run"
		local m=/usr/lib/apache2/modules
		cat >"$d/httpd.conf" <<EOF
ServerRoot "$d"
DefaultRuntimeDir "$d/run"
PidFile "$d/run/httpd.pid"
ErrorLog "$d/error.log"
LogLevel warn
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule alias_module $m/mod_alias.so
LoadModule cgid_module $m/mod_cgid.so
ServerName 127.0.0.1
Listen 127.0.0.1:$P_APACHE
User nobody
Group nogroup
ScriptSock "$d/run/cgid.sock"
DocumentRoot "$TREE"
<Directory "$TREE">
	Require all granted
</Directory>
ScriptAlias /cgi-bin/ "$TREE/cgi-bin/"
EOF
		start_group apache "$P_APACHE" apache2 -f "$d/httpd.conf" -DFOREGROUND
		;;
	nginx)
		mkdir -p "$d/tmp" "$d/fcgi"
		chown nobody:nogroup "$d/fcgi"
		local sock=$d/fcgi/fcgiwrap.sock
		rm -f "$sock"
		setsid setpriv --reuid=nobody --regid=nogroup --clear-groups \
			fcgiwrap -c 4 -s "unix:$sock" >"$OUT/fcgiwrap.log" 2>&1 &
		local pid=$!
		PIDS+=("$pid")
		for _ in $(seq 100); do
			[ -S "$sock" ] && break
			if ! kill -0 "$pid" 2>/dev/null; then
				echo "fcgiwrap exited early; log:" >&2
				cat "$OUT/fcgiwrap.log" >&2
				exit 1
			fi
			sleep 0.1
		done
		own_group "$pid"
		cat >"$d/nginx.conf" <<EOF
daemon off;
worker_processes auto;
user nobody nogroup;
pid $d/nginx.pid;
error_log $d/error.log warn;
events {
	worker_connections 1024;
}
http {
	access_log off;
	client_body_temp_path $d/tmp/body;
	fastcgi_temp_path $d/tmp/fastcgi;
	proxy_temp_path $d/tmp/proxy;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	client_max_body_size 0;
	server {
		listen 127.0.0.1:$P_NGINX;
		root $TREE;
		location /cgi-bin/ {
			gzip off;
			fastcgi_pass unix:$sock;
			include /etc/nginx/fastcgi_params;
			fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
		}
	}
}
EOF
		start_group nginx "$P_NGINX" nginx -e "$d/error.log" -p "$d/" -c "$d/nginx.conf"
		;;
	esac
}

# Every server must answer the hello script correctly before it is measured;
# a peer that does not is dropped with a message, ours ends the run.
url() { echo "http://127.0.0.1:${PORT_OF[$1]}/cgi-bin/$2"; }
hello_ok() { [ "$(curl -sS --max-time 10 "$(url "$1" "$2")" 2>&1)" = hello ]; }
for s in pyhttp_cgi pyhttp-server; do
	for prog in hello hello.sh hello.py; do
		if ! hello_ok "$s" "$prog"; then
			echo "$s: /cgi-bin/$prog answered: $(curl -sS --max-time 10 "$(url "$s" "$prog")" 2>&1)" >&2
			exit 1
		fi
	done
done
LIVE=()
for p in "${PEERS[@]}"; do
	start_peer "$p"
	if hello_ok "$p" hello; then
		LIVE+=("$p")
	else
		log "FAILED: $p answered /cgi-bin/hello with: $(curl -sS --max-time 10 "$(url "$p" hello)" 2>&1 | head -c 300)"
		SKIPPED+=("$p (wrong hello answer)")
	fi
done
PEERS=("${LIVE[@]}")

# --- 1. hello rounds -----------------------------------------------------------

wrkrun() { # NAME PROG ROUND
	wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --latency "$(url "$1" "$2")" >"$RES/wrk.$1.$2.$3.txt" 2>&1 || true
}
for round in $(seq "$ROUNDS"); do
	for prog in hello hello.sh hello.py; do
		log "round $round/$ROUNDS: $prog: spawn limit, pyhttp-server, pyhttp_cgi"
		"$OUT/spawnbench" "$TREE/cgi-bin/$prog" 2 "$SECONDS_RUN" >"$RES/spawn.$prog.$round.txt"
		wrkrun pyhttp-server "$prog" "$round"
		wrkrun pyhttp_cgi "$prog" "$round"
	done
	if [ "$PEER_HELLO" = 1 ]; then
		for p in "${PEERS[@]}"; do
			log "round $round/$ROUNDS: hello: $p"
			wrkrun "$p" hello "$round"
		done
	fi
done

# --- 2. upload and echo --------------------------------------------------------

IO_SERVERS=(pyhttp_cgi pyhttp-server "${PEERS[@]}")
declare -A FAILED=()
OURS_FAILED=
io_fail() { # NAME KIND MESSAGE
	FAILED[$1.$2]=$3
	log "FAILED: $1 $2: $3"
	case $1 in pyhttp_cgi | pyhttp-server) OURS_FAILED=1 ;; esac
}
# io_once NAME KIND [ECHO_OUTPUT]: one request; appends "REP seconds" to
# $RES/io.NAME.KIND.txt if the answer was right. The upload's answer always
# goes to a file (it is checked); the echo's to ECHO_OUTPUT or /dev/null.
io_once() {
	local name=$1 kind=$2 out=$RES/up.$1.body script=sink rc=0 w code secs size
	if [ "$kind" = echo ]; then
		out=${3:-/dev/null}
		script="echo"
	fi
	w=$(curl -sS -H 'Expect:' --max-time "$STALL_SECONDS" --data-binary "@$RES/upload.bin" \
		-o "$out" -w '%{http_code} %{time_total} %{size_download}' "$(url "$name" "$script")" 2>"$RES/curl.err") || rc=$?
	if [ "$rc" != 0 ]; then
		if [ "$rc" = 28 ]; then
			io_fail "$name" "$kind" "no complete answer within ${STALL_SECONDS}s (curl: $(tr -d '\n' <"$RES/curl.err"))"
		else
			io_fail "$name" "$kind" "curl exit $rc: $(tr -d '\n' <"$RES/curl.err")"
		fi
		return 1
	fi
	read -r code secs size <<<"$w"
	if [ "$code" != 200 ]; then
		io_fail "$name" "$kind" "HTTP $code"
		return 1
	fi
	if [ "$kind" = upload ] && ! cmp -s "$out" "$RES/upload.expected"; then
		io_fail "$name" "$kind" "answer '$(head -c 200 "$out" | tr -d '\r\n')', expected '$(tr -d '\n' <"$RES/upload.expected")'"
		return 1
	fi
	if [ "$kind" = echo ] && [ "$size" != "$BYTES" ]; then
		io_fail "$name" "$kind" "$size bytes echoed of $BYTES"
		return 1
	fi
	echo "$REP $secs" >>"$RES/io.$name.$kind.txt"
}

# First one of each, not timed: the echo compared byte for byte.
REP=0
for name in "${IO_SERVERS[@]}"; do
	log "upload and echo check: $name"
	io_once "$name" upload || true
	if io_once "$name" echo "$RES/echo.$name.body"; then
		if ! cmp -s "$RES/echo.$name.body" "$RES/upload.bin"; then
			io_fail "$name" echo "the echo differs from the upload (cmp: $(cmp "$RES/echo.$name.body" "$RES/upload.bin" 2>&1 | head -1))"
		fi
	fi
	rm -f "$RES/echo.$name.body" "$RES/io.$name.upload.txt" "$RES/io.$name.echo.txt"
done
n=${#IO_SERVERS[@]}
for REP in $(seq "$REPS"); do
	log "upload and echo: rep $REP/$REPS"
	for kind in upload echo; do
		for i in $(seq 0 $((n - 1))); do
			name=${IO_SERVERS[$(((i + REP) % n))]}
			[ -z "${FAILED[$name.$kind]:-}" ] || continue
			io_once "$name" "$kind" || true
		done
	done
done

# --- 3. idle RSS ----------------------------------------------------------------

caddyfile "$RES/rss-fs.Caddyfile.std" "$P_RSS_STD" "	root * $TREE
	file_server"
caddyfile "$RES/rss-fs.Caddyfile.ours" "$P_RSS_FS" "	root * $TREE
	file_server"
caddyfile "$RES/rss-cgi.Caddyfile" "$P_RSS_CGI" "	root * $TREE
	pyhttp_cgi"
for round in $(seq "$RSS_ROUNDS"); do
	log "idle RSS: round $round/$RSS_ROUNDS"
	start_group rss-std "$P_RSS_STD" "$OUT/caddy-std" run --config "$RES/rss-fs.Caddyfile.std" --adapter caddyfile
	std=$SERVER_PID
	start_group rss-fs "$P_RSS_FS" "$BIN" run --config "$RES/rss-fs.Caddyfile.ours" --adapter caddyfile
	fs=$SERVER_PID
	start_group rss-cgi "$P_RSS_CGI" "$BIN" run --config "$RES/rss-cgi.Caddyfile" --adapter caddyfile
	cg=$SERVER_PID
	start_group rss-cmd "$P_RSS_CMD" "$BIN" pyhttp-server --cgi -b 127.0.0.1 -d "$TREE" "$P_RSS_CMD"
	cmd=$SERVER_PID
	sleep 1
	for _ in $(seq "$RSS_REQS"); do
		for p in "$P_RSS_STD" "$P_RSS_FS"; do
			curl -sS -f -o /dev/null "http://127.0.0.1:$p/index.html"
		done
		for p in "$P_RSS_CGI" "$P_RSS_CMD"; do
			curl -sS -f -o /dev/null "http://127.0.0.1:$p/index.html"
			curl -sS -f -o /dev/null "http://127.0.0.1:$p/cgi-bin/hello"
		done
	done
	sleep 2
	echo "$(rss_kib "$std") $(rss_kib "$fs") $(rss_kib "$cg") $(rss_kib "$cmd")" >>"$RES/rss.txt"
	for pid in "$std" "$fs" "$cg" "$cmd"; do stop_group "$pid"; done
done

# --- report ---------------------------------------------------------------------

# wrkfield FILE: requests/s, p50, p99, and the error counts wrk printed (one
# word, so that the spawn limit pasted after it is field 5).
wrkfield() {
	awk '/^Requests\/sec:/ {r=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2}
		/Socket errors/ {gsub(/,/, ""); e=e "connect=" $4 ",read=" $6 ",write=" $8 ",timeout=" $10}
		/Non-2xx/ {e=e (e ? "," : "") "non-2xx=" $NF}
		END {print (r ? r : 0), (p50 ? p50 : "-"), (p99 ? p99 : "-"), (e ? e : "-")}' "$1"
}
list() { awk '{printf "%s%.0f", (NR>1 ? ", " : ""), $1}'; }
list2() { awk '{printf "%s%.2f", (NR>1 ? ", " : ""), $1}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }

machine_info
echo "run:     started $START_DATE at load $START_LOAD (1, 5, 15 min)"
echo "command: ROUNDS=$ROUNDS SECONDS_RUN=$SECONDS_RUN CONNS=$CONNS REPS=$REPS UPLOAD_MIB=$UPLOAD_MIB bench/peers.sh"
echo "tools:   $(wrk -v 2>&1 | head -1); $(curl --version | head -1 | cut -d' ' -f1-2); $(gcc --version | head -1)"
echo "peers:   $(python3 --version 2>&1) http.server; $(go version | cut -d' ' -f3) net/http/cgi$(
	command -v lighttpd >/dev/null && echo "; $(lighttpd -v 2>&1 | head -1 | cut -d' ' -f1)")$(
	command -v apache2 >/dev/null && echo "; $(apache2 -v 2>&1 | head -1 | cut -d' ' -f3)")$(
	command -v nginx >/dev/null && echo "; $(nginx -v 2>&1 | cut -d' ' -f3)")$(
	command -v fcgiwrap >/dev/null && echo "; fcgiwrap $(fcgiwrap -h 2>&1 | awk '/version/ {print $3}')")"
if [ ${#SKIPPED[@]} -gt 0 ]; then
	echo "skipped: ${SKIPPED[*]}"
fi
echo
echo "### hello CGI against the spawn limit of the same script"
echo
echo "$ROUNDS rounds of ${SECONDS_RUN}s; in each round and for each script: spawnbench (2 workers, no HTTP), then wrk -t2 -c$CONNS against each server. Verdict on the median of the same-round ratios."
echo
echo "| script | what | requests/s (median) | all rounds | p50 | p99 | median / median spawn | same-round ratios | median same-round | target | met? |"
echo "|---|---|---:|---|---:|---:|---:|---|---:|---:|---|"
declare -A TARGET=([hello]=0.85 [hello.sh]=0.90 [hello.py]=0.95)
declare -A SCRIPT_LABEL=([hello]="compiled (bench/hello.c)" [hello.sh]="/bin/sh + printf" [hello.py]="Python (#!/usr/bin/python3)")
for prog in hello hello.sh hello.py; do
	for round in $(seq "$ROUNDS"); do
		awk '{print $6}' "$RES/spawn.$prog.$round.txt"
	done >"$RES/spawn.$prog.rounds"
	spawn=$(median <"$RES/spawn.$prog.rounds")
	printf '| %s | spawn limit (spawnbench, 2 workers) | %.0f | %s | | | 1.00x | | | | |\n' \
		"${SCRIPT_LABEL[$prog]}" "$spawn" "$(list <"$RES/spawn.$prog.rounds")"
	for s in pyhttp-server pyhttp_cgi; do
		for round in $(seq "$ROUNDS"); do wrkfield "$RES/wrk.$s.$prog.$round.txt"; done >"$RES/wrk.$s.$prog.rounds"
		read -r rps p50 p99 _ <<<"$(sort -g -k1,1 "$RES/wrk.$s.$prog.rounds" | awk -v n="$ROUNDS" 'NR == int((n+1)/2)')"
		paste "$RES/wrk.$s.$prog.rounds" "$RES/spawn.$prog.rounds" | awk '{print ($5 > 0 ? $1 / $5 : 0)}' >"$RES/ratio.$s.$prog"
		same=$(median <"$RES/ratio.$s.$prog")
		met=no
		awk -v a="$same" -v t="${TARGET[$prog]}" 'BEGIN {exit !(a >= t)}' && met=yes
		printf '| %s | %s | %.0f | %s | %s | %s | %sx | %s | %.3fx | %sx | %s |\n' "${SCRIPT_LABEL[$prog]}" "${LABEL[$s]}" \
			"$rps" "$(list <"$RES/wrk.$s.$prog.rounds")" "$p50" "$p99" "$(ratio "$rps" "$spawn")" \
			"$(list2 <"$RES/ratio.$s.$prog")" "$same" "${TARGET[$prog]}" "$met"
	done
done
for prog in hello hello.sh hello.py; do
	for s in pyhttp-server pyhttp_cgi; do
		e=$(awk '$4 != "-" {print; exit}' "$RES/wrk.$s.$prog.rounds" | cut -d' ' -f4-)
		if [ -n "$e" ]; then
			echo
			echo "**${LABEL[$s]}, $prog: wrk reported errors: $e** (raw output in $RES/wrk.$s.$prog.*.txt)"
		fi
	done
done

if [ "$PEER_HELLO" = 1 ]; then
	echo
	echo "### compiled hello through every server"
	echo
	echo "Same rounds: each peer's wrk run came after that round's spawnbench and our two servers. Python answers HTTP/1.0 and closes every connection; wrk counts some of those closes as read errors but counts the requests."
	echo
	echo "| server | requests/s (median) | all rounds | p50 | p99 | same-round vs spawn limit | pyhttp_cgi / this (median) | wrk errors (round 1) |"
	echo "|---|---:|---|---:|---:|---|---:|---|"
	spawn=$(median <"$RES/spawn.hello.rounds")
	ours=$(sort -g "$RES/wrk.pyhttp_cgi.hello.rounds" | awk -v n="$ROUNDS" 'NR == int((n+1)/2) {print $1}')
	printf '| spawn limit (spawnbench, 2 workers) | %.0f | %s | | | | | |\n' "$spawn" "$(list <"$RES/spawn.hello.rounds")"
	for s in pyhttp_cgi pyhttp-server "${PEERS[@]}"; do
		for round in $(seq "$ROUNDS"); do wrkfield "$RES/wrk.$s.hello.$round.txt"; done >"$RES/wrk.$s.hello.rounds"
		read -r rps p50 p99 _ <<<"$(sort -g -k1,1 "$RES/wrk.$s.hello.rounds" | awk -v n="$ROUNDS" 'NR == int((n+1)/2)')"
		printf '| %s | %.0f | %s | %s | %s | %s | %sx | %s |\n' "${LABEL[$s]}" "$rps" \
			"$(list <"$RES/wrk.$s.hello.rounds")" "$p50" "$p99" \
			"$(paste "$RES/wrk.$s.hello.rounds" "$RES/spawn.hello.rounds" | awk '{print ($5 > 0 ? $1 / $5 : 0)}' | list2)" \
			"$(ratio "$ours" "$rps")" "$(head -1 "$RES/wrk.$s.hello.rounds" | cut -d' ' -f4-)"
	done
fi

# io_table KIND TITLE
io_table() {
	local kind=$1 s ours_t t f same
	echo
	echo "### $2"
	echo
	echo "| server | median ms | all reps ms | MiB/s (median) | median time / pyhttp_cgi's | same-rep time / pyhttp_cgi's (median) | answers |"
	echo "|---|---:|---|---:|---:|---:|---|"
	ours_t=0
	f=$RES/io.pyhttp_cgi.$kind.txt
	[ -s "$f" ] && ours_t=$(awk '{print $2}' "$f" | median)
	for s in "${IO_SERVERS[@]}"; do
		f=$RES/io.$s.$kind.txt
		if [ -s "$f" ]; then
			t=$(awk '{print $2}' "$f" | median)
			# Same-rep ratios: the rep's time over pyhttp_cgi's in that rep.
			same=$(awk 'NR == FNR {o[$1] = $2; next} ($1 in o) && o[$1] > 0 {print $2 / o[$1]}' \
				"$RES/io.pyhttp_cgi.$kind.txt" "$f" 2>/dev/null | median)
			printf '| %s | %.1f | %s | %.0f | %sx | %.2fx | %s |\n' "${LABEL[$s]}" "$(awk -v t="$t" 'BEGIN {print t * 1000}')" \
				"$(awk '{printf "%s%.1f", (NR>1 ? ", " : ""), $2 * 1000}' "$f")" \
				"$(awk -v t="$t" -v m="$UPLOAD_MIB" 'BEGIN {print m / t}')" "$(ratio "$t" "$ours_t")" "$same" \
				"${FAILED[$s.$kind]:-all $(wc -l <"$f") correct}"
			echo "$s $same" >>"$RES/io.same.$kind"
		else
			printf '| %s | | | | | | **failed: %s** |\n' "${LABEL[$s]}" "${FAILED[$s.$kind]:-no result}"
		fi
	done
	echo
	# The verdict: every peer that answered took longer than pyhttp_cgi in
	# the median of the same-rep ratios.
	touch "$RES/io.same.$kind"
	local behind='' p r
	while read -r p r; do
		case $p in pyhttp_cgi | pyhttp-server) continue ;; esac
		awk -v r="$r" 'BEGIN {exit !(r > 1)}' ||
			behind="$behind ${LABEL[$p]} ($(awk -v r="$r" 'BEGIN {printf "%.2f", r}')x)"
	done <"$RES/io.same.$kind"
	if [ -n "${FAILED[pyhttp_cgi.$kind]:-}" ]; then
		echo "**pyhttp_cgi $kind failed: ${FAILED[pyhttp_cgi.$kind]}**"
	elif [ -z "$behind" ]; then
		echo "pyhttp_cgi faster than every peer that answered ($kind, median of the same-rep ratios): **yes**"
	else
		echo "pyhttp_cgi faster than every peer that answered ($kind, median of the same-rep ratios): **no**, not faster than:$behind"
	fi
}
io_table upload "$UPLOAD_MIB MiB upload (POST to bench/sink.c: reads stdin to EOF or CONTENT_LENGTH, answers length and checksum; every answer checked): curl --data-binary -H 'Expect:' -o /dev/null, $REPS reps, server order rotated each rep"
io_table echo "$UPLOAD_MIB MiB full-duplex echo (POST to bench/echo.c: header first, then stdin copied to stdout as it arrives; every length checked, the first echo compared byte for byte): same client, MiB/s in each direction"

echo
echo "### idle RSS: Caddy with and without the module"
echo
echo "$RSS_ROUNDS fresh starts of all four together; $RSS_REQS requests each (index.html, plus /cgi-bin/hello for the CGI ones), 2 s idle, VmRSS. Binaries: caddy-std $(stat -c %s "$OUT/caddy-std" | awk '{printf "%.1f", $1 / 1048576}') MiB, ours $(stat -c %s "$BIN" | awk '{printf "%.1f", $1 / 1048576}') MiB."
echo
echo "| server | config | VmRSS MiB (median) | all rounds | vs caddy-std | target | met? |"
echo "|---|---|---:|---|---:|---:|---|"
std_med=$(awk '{print $1}' "$RES/rss.txt" | median)
col=1
for row in "caddy-std (bench/caddystd.go: standard modules only)|file_server" \
	"ours (./cmd/caddy)|the same file_server Caddyfile" \
	"ours (./cmd/caddy)|pyhttp_cgi site" \
	"ours (./cmd/caddy)|caddy pyhttp-server --cgi (access log on)"; do
	IFS='|' read -r who cfg <<<"$row"
	med=$(awk -v c="$col" '{print $c}' "$RES/rss.txt" | median)
	all=$(awk -v c="$col" '{printf "%s%.1f", (NR>1 ? ", " : ""), $c / 1024}' "$RES/rss.txt")
	if [ "$col" = 1 ]; then
		printf '| %s | %s | %.1f | %s | | | |\n' "$who" "$cfg" "$(awk -v k="$med" 'BEGIN {print k / 1024}')" "$all"
	else
		d=$(awk -v a="$med" -v b="$std_med" 'BEGIN {printf "%+.1f", (a - b) / 1024}')
		met=no
		awk -v d="$d" 'BEGIN {exit !(d <= 2)}' && met=yes
		printf '| %s | %s | %.1f | %s | %s MiB | +2 MiB | %s |\n' "$who" "$cfg" "$(awk -v k="$med" 'BEGIN {print k / 1024}')" "$all" "$d" "$met"
	fi
	col=$((col + 1))
done

if [ -n "$OURS_FAILED" ]; then
	echo >&2
	echo "pyhttp_cgi or pyhttp-server answered an upload or echo wrongly (see FAILED above)" >&2
	exit 1
fi
