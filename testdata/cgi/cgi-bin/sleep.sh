#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Sleeps before its headers, longer than the test's timeout.
sleep 10
printf 'Content-Type: text/plain\n\ntoo late\n'
