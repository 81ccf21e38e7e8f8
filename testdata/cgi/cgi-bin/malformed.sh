#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Output that is not a CGI header block.
printf 'this is not a header line\n\nbody\n'
