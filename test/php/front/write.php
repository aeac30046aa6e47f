<?php
/**
 * Writes session keys of many shapes, as PHP serializes them:
 *   POST shapes=all            every shape below, one top-level key each, in this order
 *   POST shapes=a,b            only those
 *   POST key=<name>&json=<v>   $_SESSION[name] = json_decode(v, true)
 * Answers JSON {sessionId, names}. Creates the session if there is none; honours X-SessionReadOnly.
 */
require __DIR__ . '/../bootstrap.php';

function shapes(): array
{
    $expires = new DateTimeImmutable('2026-08-21 14:20:00.5', new DateTimeZone('UTC'));
    $shared = new stdClass();
    $shared->n = 1;
    return [
        'ints' => [0, -1, 42, PHP_INT_MAX, PHP_INT_MIN, 9007199254740993],
        'floats' => [0.1, 1.0, -0.0, 1e100, 1.5e-7, 0.30000000000000004, INF, -INF, NAN, 123456789.125],
        'bools' => [true, false],
        'nothing' => null,
        'emptyString' => '',
        'emptyArray' => [],
        'nested' => ['a' => ['b' => ['c' => [1, [2, [3, ['d' => null]]]]]], 5 => 'int key', '05' => 'string key "05"', -3 => 'negative key'],
        'mixedKeyOrder' => ['b' => 1, 7 => 2, 'a' => 3, 0 => 4],
        'sparseList' => [3 => 'x', 1 => 'y'],
        'unicode' => "h\u{e9}llo w\u{f6}rld \u{2713} \u{1F600} e\u{301} \u{4E2D}\u{6587} \u{5E2}\u{5D1}\u{5E8}\u{5D9}\u{5EA} \u{FEFF}bom",
        'unicodeKeys' => ["\u{43A}\u{43B}\u{44E}\u{447}" => "\u{437}\u{43D}\u{430}\u{447}\u{435}\u{43D}\u{438}\u{435}", "\u{1F600}" => 'emoji key', 'quote"|;:{}' => 'delimiters'],
        'binary' => "\x00\xff\xfe raw bytes \x80\x00",
        'multiline' => "line 1\nline 2\r\n\ttabbed \\ backslash",
        'longString' => str_repeat('0123456789', 500),
        'object' => new LegacyIdentity('a1b2c3d4e5f60718293a4b5c6d7e8f90', 'tok', $expires),
        'childObject' => new LegacyIdentityChild('u2', 't2', $expires),
        'stdObject' => (object) ['x' => 1, 'y' => [1, 2], 'z' => (object) []],
        'arrayObject' => new ArrayObject(['k' => 'v', 3 => [true]]),
        'dateTime' => new DateTime('2023-03-01 11:15:00.123456', new DateTimeZone('Europe/London')),
        'custom' => new LegacyCustom(['inner' => [1, 2.5, 'three']]),
        'enum' => Suit::Hearts,
        'enumList' => [Suit::Spades, Suit::Hearts],
        // Last: the same object twice gives a back-reference (r:) into this key.
        'objectReferences' => ['first' => $shared, 'again' => $shared],
    ];
}

if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    send_json(['error' => 'POST only'], 405);
    return;
}
session_start();
$names = [];
if (isset($_POST['shapes'])) {
    $all = shapes();
    $wanted = $_POST['shapes'] === 'all' ? array_keys($all) : explode(',', (string) $_POST['shapes']);
    foreach ($wanted as $name) {
        if (!array_key_exists($name, $all)) {
            send_json(['error' => "no shape $name"], 400);
            return;
        }
        $_SESSION[$name] = $all[$name];
        $names[] = $name;
    }
}
if (isset($_POST['key'], $_POST['json'])) {
    $_SESSION[(string) $_POST['key']] = json_decode((string) $_POST['json'], true, 64, JSON_THROW_ON_ERROR);
    $names[] = (string) $_POST['key'];
}
send_json(['sessionId' => session_id(), 'names' => $names]);
