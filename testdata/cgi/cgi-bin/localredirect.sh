#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# A local redirect (RFC 3875 section 6.2.2): the server serves /other.txt.
printf 'Location: /other.txt\n\n'
