<?php
// PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
header('Content-Type: text/plain; charset=utf-8');
echo "INDEX SCRIPT_NAME=", $_SERVER['SCRIPT_NAME'], " PATH_INFO=", $_SERVER['PATH_INFO'] ?? '', "\n";
