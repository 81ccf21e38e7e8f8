#!/usr/bin/python3
# The seed's form handler: reads the urlencoded POST from client.py with
# cgi.FieldStorage (Debian's Python 3.11 still ships the cgi module) and
# echoes the fields as text/plain.
import cgi
import sys

form = cgi.FieldStorage()
name = form.getvalue("name")
email = form.getvalue("email")
url = form.getvalue("url")

sys.stdout.write("Content-Type: text/plain; charset=utf-8\r\n\r\n")
sys.stdout.flush()
out = f"name: {name}\nemail: {email}\nurl: {url}\n"
sys.stdout.buffer.write(out.encode("utf-8"))
