#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Holds its process slot for a second, for the max_procs test.
sleep 1
printf 'Content-Type: text/plain\n\nslow\n'
