#!/bin/sh
# The smallest CGI script: a header block, a blank line, a body.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'Hello from %s (PATH_INFO=%s, QUERY_STRING=%s)\n' "$SCRIPT_NAME" "$PATH_INFO" "$QUERY_STRING"
