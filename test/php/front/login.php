<?php
/**
 * Signs a user in the way the Mezzio front's LoginHandler does once the API has said yes: regenerate the
 * id (the old session is deleted), clear, then `identity` = {userId, token, tokenExpiresAt ('c'),
 * lastLogin ('c' or null), sharedSpaceId: null}; plus the `__csrf` token (mezzio-csrf: 32 hex) and
 * `SessionDetails` that every request writes. The API's answer comes from the POST body (the test
 * obtains a real token from lpa-front's local credential backend). Then 302 to the dashboard.
 */
require __DIR__ . '/../bootstrap.php';

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    send_json(['error' => 'POST only'], 405);
    return;
}
foreach (['userId', 'token', 'tokenExpiresAt'] as $field) {
    if (!isset($_POST[$field]) || !is_string($_POST[$field]) || $_POST[$field] === '') {
        send_json(['error' => "missing $field"], 400);
        return;
    }
}

session_start();
session_regenerate_id(true);
$_SESSION = [];
$_SESSION['identity'] = [
    'userId' => $_POST['userId'],
    'token' => $_POST['token'],
    'tokenExpiresAt' => c_date((int) $_POST['tokenExpiresAt']),
    'lastLogin' => isset($_POST['lastLogin']) && $_POST['lastLogin'] !== '' ? c_date((int) $_POST['lastLogin']) : null,
    'sharedSpaceId' => null,
];
$_SESSION['__csrf'] = bin2hex(random_bytes(16));
$_SESSION['SessionDetails'] = [
    'currentRoute' => 'user/dashboard',
    'previousRoute' => 'application.login',
    'routeStore' => 'user/dashboard',
];
header('Location: /user/dashboard', true, 302);
