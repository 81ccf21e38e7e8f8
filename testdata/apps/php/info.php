<?php
// PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
header('Content-Type: text/plain');
echo "SCRIPT_NAME=", $_SERVER['SCRIPT_NAME'], "\nPATH_INFO=", $_SERVER['PATH_INFO'] ?? '', "\nMETHOD=", $_SERVER['REQUEST_METHOD'], "\n";
