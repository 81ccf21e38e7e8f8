#!/usr/bin/python3
# Writes a stderr line and exits 3 after its answer: Python logs the
# line raw and then "CGI script exit code 3".
import sys
sys.stdout.write("Content-Type: text/plain\r\n\r\nfailing\n")
sys.stdout.flush()
sys.stderr.write("fail.py: something went wrong\n")
sys.exit(3)
