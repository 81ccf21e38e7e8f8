<?php
// PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
session_start();
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
header('Content-Type: text/plain');
echo "N=", $_SESSION['n'], "\n";
