#!/usr/bin/python3
# Reads exactly CONTENT_LENGTH bytes, as CPython-era scripts do, and echoes
# them after its arguments.
import os
import sys

n = int(os.environ.get("CONTENT_LENGTH") or 0)
data = sys.stdin.buffer.read(n) if n else b""
sys.stdout.write("Content-Type: text/plain\r\n\r\n")
sys.stdout.write("argv=%r\n" % (sys.argv[1:],))
sys.stdout.flush()
sys.stdout.buffer.write(data)
