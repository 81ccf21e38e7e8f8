#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# A script in a subdirectory of cgi-bin: prints what diffenv.sh prints.
exec "$(dirname "$0")/../diffenv.sh" "$@"
