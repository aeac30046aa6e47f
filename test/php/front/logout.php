<?php
/**
 * Signs out as the live front does: the whole session is destroyed in Redis (DEL) and the cookie is
 * expired, then 302 to GOV.UK's "done" page.
 */
require __DIR__ . '/../bootstrap.php';

if (start_existing_session()) {
    $_SESSION = [];
    session_destroy();
}
$params = session_get_cookie_params();
setcookie(session_name(), '', [
    'expires' => 1,
    'path' => $params['path'],
    'domain' => $params['domain'],
    'secure' => $params['secure'],
    'httponly' => true,
    'samesite' => 'Lax',
]);
header('Location: https://www.gov.uk/done/lasting-power-of-attorney', true, 302);
