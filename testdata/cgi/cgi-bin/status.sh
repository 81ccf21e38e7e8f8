#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Sets its own status (RFC 3875 section 6.3.3).
printf 'Status: 404 Not Here\nContent-Type: text/plain\n\nnot here\n'
