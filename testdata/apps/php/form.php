<?php
// PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
header('Content-Type: text/plain; charset=utf-8');
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
	echo "NAME=", $_POST['name'] ?? '', "\n";
	echo "LEN=", strlen($_POST['name'] ?? ''), "\n";
} else {
	echo "FORM\n";
}
