<?php
// PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
http_response_code(404);
echo "no such thing\n";
