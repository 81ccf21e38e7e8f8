<?php
// PYHTTP-SOURCE-MARKER: a client must only ever see this script's output.
header('Location: form.php');
