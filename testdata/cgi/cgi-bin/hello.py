# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# No shebang and no run bit: runs only through `interpreter .py`.
print("Content-Type: text/plain")
print()
print("hello from python")
