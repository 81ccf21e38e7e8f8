#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Registers itself in $COUNT_DIR while it runs and prints how many scripts
# were registered at that moment, for the max_procs test.
mkdir "$COUNT_DIR/$$"
n=$(ls "$COUNT_DIR" | wc -l)
sleep 0.2
rmdir "$COUNT_DIR/$$"
printf 'Content-Type: text/plain\r\n\r\n%s\n' "$n"
