#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Prints its pid and a background child's, then runs until it is killed.
sleep 1000 &
printf 'Content-Type: text/plain\r\n\r\n%s %s\n' "$$" "$!"
sleep 1000
