#!/usr/bin/python3
# Reads a urlencoded UTF-8 POST body and greets the name in it.
import html, os, sys, urllib.parse
length = int(os.environ.get("CONTENT_LENGTH") or 0)
body = sys.stdin.buffer.read(length).decode("ascii")
fields = urllib.parse.parse_qs(body, encoding="utf-8", errors="strict")
name = fields.get("name", [""])[0]
page = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>Hello</title></head>'
        '<body><p id="result">Hello, %s!</p><p id="method">%s</p></body></html>'
        % (html.escape(name), html.escape(os.environ.get("REQUEST_METHOD", ""))))
sys.stdout.buffer.write(b"Content-Type: text/html; charset=utf-8\r\n\r\n" + page.encode("utf-8"))
