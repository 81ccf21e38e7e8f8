"""The seed's client: POSTs a form to the URL given as the only argument
with urllib.request.urlopen and prints the response body."""
import sys
import urllib.parse
import urllib.request

data = urllib.parse.urlencode({
    "name": "김윤미",
    "email": "yunmi@example.com",
    "url": "https://example.com/?a=1&b=2",
}).encode("ascii")

with urllib.request.urlopen(sys.argv[1], data, timeout=30) as resp:
    sys.stdout.buffer.write(resp.read())
