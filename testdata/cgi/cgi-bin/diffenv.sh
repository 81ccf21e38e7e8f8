#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Prints the variables on which pyhttp_cgi and Python's CGIHTTPRequestHandler
# agree, for TestDifferentialCGI. Unset and empty print the same, because
# Python sets QUERY_STRING, CONTENT_LENGTH, HTTP_USER_AGENT, HTTP_COOKIE and
# HTTP_ACCEPT to "" when absent and pyhttp_cgi leaves them unset. stdin is
# not read: Python hands the script the raw socket.
printf 'Content-Type: text/plain\n\n'
printf 'SCRIPT_NAME=%s\n' "$SCRIPT_NAME"
printf 'PATH_INFO=%s\n' "$PATH_INFO"
printf 'QUERY_STRING=%s\n' "$QUERY_STRING"
printf 'REQUEST_METHOD=%s\n' "$REQUEST_METHOD"
printf 'GATEWAY_INTERFACE=%s\n' "$GATEWAY_INTERFACE"
printf 'CONTENT_LENGTH=%s\n' "$CONTENT_LENGTH"
printf 'HTTP_USER_AGENT=%s\n' "$HTTP_USER_AGENT"
printf 'HTTP_ACCEPT=%s\n' "$HTTP_ACCEPT"
printf 'HTTP_COOKIE=%s\n' "$HTTP_COOKIE"
printf 'ARGC=%s\n' "$#"
for a in "$@"; do
	printf 'ARG=%s\n' "$a"
done
