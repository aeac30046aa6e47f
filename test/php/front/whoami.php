<?php
/**
 * Who the PHP front thinks is signed in: the Mezzio rule (userId, token and tokenExpiresAt all present),
 * the identity array exactly as PHP unserialized it, gettype() of each field, and tokenExpiresAt parsed
 * by PHP and written back in 'c' format (equal to the stored text when the format is PHP's own).
 * A reader: read_and_close, so it never writes the session.
 */
require __DIR__ . '/../bootstrap.php';

$started = start_existing_session(['read_and_close' => true]);
$identity = $started ? ($_SESSION['identity'] ?? null) : null;
$signedIn = is_array($identity) && isset($identity['userId'], $identity['token'], $identity['tokenExpiresAt']);
$types = is_array($identity) ? array_map('gettype', $identity) : null;
$reformatted = null;
if ($signedIn && is_string($identity['tokenExpiresAt'])) {
    $parsed = DateTimeImmutable::createFromFormat(DateTimeInterface::ATOM, $identity['tokenExpiresAt']);
    $reformatted = $parsed === false ? false : $parsed->format('c');
}
send_json([
    'sessionId' => $started ? session_id() : null,
    'signedIn' => $signedIn,
    'identity' => $identity,
    'types' => $types,
    'tokenExpiresAtReformatted' => $reformatted,
    'csrf' => $started ? ($_SESSION['__csrf'] ?? null) : null,
]);
