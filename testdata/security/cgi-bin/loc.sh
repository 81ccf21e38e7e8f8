#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# The script of issue 7 finding 3: redirects wherever the query says.
printf 'Location: %s\n\n' "$QUERY_STRING"
