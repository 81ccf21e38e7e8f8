#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Writes 100 MiB after its header.
printf 'Content-Type: application/octet-stream\r\n\r\n'
head -c 104857600 /dev/zero
