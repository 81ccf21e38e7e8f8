#!/usr/bin/python3
# A Server-Sent Events stream of three events, flushed one by one.
import sys, time
out = sys.stdout
out.write("Content-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n")
out.flush()
for i in range(1, 4):
    out.write("id: %d\ndata: tick %d\n\n" % (i, i))
    out.flush()
    time.sleep(0.05)
