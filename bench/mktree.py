"""Make the listing benchmark's directory: N entries of mixed names.

Usage: python3 mktree.py DIR [N]

DIR/big gets N entries (default 100000): mostly empty files named from a
seeded random mix of ASCII, spaces, HTML and URL metacharacters, accented
and CJK letters, emoji, case variants that tie under str.lower (so the
stable sort's directory order matters), names that are not UTF-8 (listed
through surrogateescape), plus a few subdirectories and symlinks (to a
file, to a directory, dangling). The tree is the same for the same N.
"""

import os
import random
import sys

root = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
big = os.path.join(root, "big")
os.makedirs(big, exist_ok=True)

special = [
    "a b", "a&b", "a<b>", 'q"uote', "it's", "100%", "50%25", "#hash", "what?",
    "semi;colon", "plus+sign", "tab\tname", "new\nline", "back\\slash",
    "Straße", "STRASSE", "İstanbul", "istanbul", "ǅemal", "Ωmega", "ωmega",
    "café", "cafe\u0301", "日本語", "한국어", "emoji-😀", "ﬁle", "K-kelvin\u212a",
    "index.html.bak", ".hidden", "..dots", "-dash", "~tilde",
]
bad = [b"latin1-\xe9t\xe9", b"\xff\xfe", b"half-\xe2\x82", b"surrogate-\xed\xa0\x80"]
dirs = ["Sub", "sub2", "another dir", "ünï"]

entries = set()
rng = random.Random(20240601)
alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_. ~"
extra = "éüß日本語Ω😀&<>%#'\"+"


def add(name):
    if name in entries or name in (".", "..") or "/" in name:
        return
    entries.add(name)


for s in special:
    add(s)
while len(entries) < n - len(bad) - len(dirs) - 4:
    k = rng.randint(1, 24)
    s = "".join(rng.choice(alpha if rng.random() < 0.95 else extra) for _ in range(k))
    if s.strip() and s not in ("index.html", "index.htm"):
        add(s + rng.choice(["", "", ".txt", ".html", ".py", ".tar.gz", ".JPG"]))

for name in sorted(entries):
    p = os.path.join(big, name)
    if not os.path.lexists(p):
        os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
for b in bad:
    p = os.path.join(os.fsencode(big), b)
    if not os.path.lexists(p):
        os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
for d in dirs:
    os.makedirs(os.path.join(big, d), exist_ok=True)
links = {"link-to-file": "a b", "link-to-dir": "Sub", "dangling": "nowhere", "Link-Up": ".."}
for name, target in links.items():
    p = os.path.join(big, name)
    if not os.path.lexists(p):
        os.symlink(target, p)
print(len(os.listdir(big)))
