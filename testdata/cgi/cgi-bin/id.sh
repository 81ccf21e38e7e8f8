#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Prints the account the script runs as.
printf 'Content-Type: text/plain\n\n'
printf 'uid=%s\ngid=%s\ngroups=%s\n' "$(id -u)" "$(id -g)" "$(id -G)"
