#!/usr/bin/python3
# The classic form handler: reads name, email and url from a GET query or a
# urlencoded POST body without the cgi module (removed in Python 3.13).
import os
import sys
from urllib.parse import parse_qs

query = os.environ.get("QUERY_STRING", "")
if os.environ.get("REQUEST_METHOD") == "POST":
    length = int(os.environ.get("CONTENT_LENGTH") or 0)
    query = sys.stdin.buffer.read(length).decode("utf-8")
form = parse_qs(query)

sys.stdout.write("Content-Type: text/plain; charset=utf-8\r\n\r\n")
for key in ("name", "email", "url"):
    sys.stdout.write("%s: %s\n" % (key, form.get(key, [""])[0]))
