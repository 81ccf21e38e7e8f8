<?php
// PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
header('Content-Type: text/plain');
$f = $_FILES['f'] ?? null;
if (!$f || $f['error'] !== UPLOAD_ERR_OK) {
	http_response_code(400);
	echo "UPLOAD ERROR ", $f['error'] ?? 'none', "\n";
	exit;
}
echo "NAME=", $f['name'], "\nSIZE=", $f['size'], "\nSHA256=", hash_file('sha256', $f['tmp_name']), "\n";
