#!/bin/sh
# PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
# A client redirect (RFC 3875 section 6.2.3): Location with a scheme.
printf 'Location: http://example.com/elsewhere\n\n'
