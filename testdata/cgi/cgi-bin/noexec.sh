#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# The test leaves this script without a run bit: 403, never its source.
printf 'Content-Type: text/plain\n\nran\n'
