#!/usr/bin/python3
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# Echoes its body back while it is still reading it, and says how long the
# body was: a server that buffers the whole body, or that does not read the
# script's output while feeding its input, deadlocks here.
import os
import sys

length = int(os.environ.get("CONTENT_LENGTH") or 0)
out = sys.stdout.buffer
out.write(b"Content-Type: application/octet-stream\r\n\r\n")
out.flush()
left = length
while left > 0:
    chunk = sys.stdin.buffer.read(min(left, 65536))
    if not chunk:
        break
    out.write(chunk)
    left -= len(chunk)
out.flush()
