<?php
/**
 * What PHP read from the session, three ways: var_export of each key, PHP's own serialize() of each value,
 * and session_encode() of the whole session (PHP re-encoding what it decoded), all base64 (values may be
 * binary).
 * A reader: read_and_close, never writes.
 */
require __DIR__ . '/../bootstrap.php';

if (!start_existing_session(['read_and_close' => true])) {
    send_json(['sessionId' => null, 'keys' => [], 'encoded' => null]);
    return;
}
$keys = [];
foreach ($_SESSION as $name => $value) {
    $keys[] = [
        'name' => (string) $name,
        'export' => base64_encode(var_export($value, true)),
        'serialized' => base64_encode(serialize($value)),
    ];
}
send_json([
    'sessionId' => session_id(),
    'keys' => $keys,
    'encoded' => base64_encode((string) session_encode()),
]);
