#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# A local redirect to itself: the server must cap the loop.
printf 'Location: /cgi-bin/loop.sh\n\n'
