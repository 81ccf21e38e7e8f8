#!/usr/bin/python3
# Answers "started", then waits until the test creates the file named by
# the query string (at most 20 s), then writes "finished". command_test.go's
# shutdown tests signal the server while it waits.
import os, sys, time
sys.stdout.write("Content-Type: text/plain\r\n\r\nstarted\n")
sys.stdout.flush()
flag = os.environ.get("QUERY_STRING", "")
deadline = time.monotonic() + 20
while flag and not os.path.exists(flag) and time.monotonic() < deadline:
    time.sleep(0.01)
sys.stdout.write("finished\n")
