#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Streams a first line (the reload test waits for it), then finishes a
# second later, naming the config that started it both times.
printf 'Content-Type: text/plain\n\nstarted %s\n' "$CONFIG_MARKER"
sleep 1
printf 'done %s\n' "$CONFIG_MARKER"
