#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Prints the account it runs as: uid and gid.
printf 'Content-Type: text/plain\n\n%s %s\n' "$(id -u)" "$(id -g)"
