#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
printf 'Content-Type: text/plain\n\nhello\n'
