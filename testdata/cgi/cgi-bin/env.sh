#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Dumps the whole environment, argv and stdin for cgi_test.go.
printf 'Content-Type: text/plain\n\n'
env | LC_ALL=C sort
printf 'ARGC=%s\n' "$#"
i=1
for a in "$@"; do
	printf 'ARGV_%s=%s\n' "$i" "$a"
	i=$((i + 1))
done
printf 'STDIN=%s\n' "$(cat)"
