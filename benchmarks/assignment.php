<?php
// The TaskRouter tutorial's assignment callback: answer 200 with an empty JSON document, which
// defers the reservation (accept it later through the REST API).
header('Content-Type: application/json');
echo '{}';
