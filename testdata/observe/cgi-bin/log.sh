#!/bin/sh
# Writes a line to stderr, exits 4, and shows the cookie it got.
echo "log line from script" >&2
printf 'Content-Type: text/plain\r\n\r\n%s\n' "$HTTP_COOKIE"
exit 4
