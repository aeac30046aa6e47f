<?php
/**
 * The tiny "legacy front" used by test/integration/php-session-interop.integration.test.ts: what every page
 * includes before it touches the session. Run with `php -S 127.0.0.1:<port> -t test/php/front` and the ini
 * settings from sessionIni() in that test (phpredis save handler, `php` serializer, cookie lpa3, strict mode).
 *
 * - The classes session values may hold are declared here, before session_start(), so PHP unserializes them
 *   as themselves (not __PHP_Incomplete_Class).
 * - FilteringSaveHandler: the live front's X-SessionReadOnly rule (service-front SaveHandlerFactory: a
 *   non-empty header value suppresses the write; `0` and empty do not). It wraps whatever
 *   session.save_handler is configured (phpredis), so keys, prefix, TTL and bytes are still phpredis's own.
 *
 * Test fixture only: it trusts its caller (the test) completely. Never deploy it.
 */
declare(strict_types=1);

// Classes that implement only Serializable are deprecated since PHP 8.1: the notice is expected here.
error_reporting(E_ALL & ~E_DEPRECATED);
ini_set('display_errors', 'stderr');

class LegacyIdentity
{
    private $id;
    private $token;
    protected $tokenExpiresAt;
    protected $roles = ['user'];
    public $note = null;

    public function __construct(string $id, string $token, DateTimeInterface $expires)
    {
        $this->id = $id;
        $this->token = $token;
        $this->tokenExpiresAt = $expires;
    }
}

class LegacyIdentityChild extends LegacyIdentity
{
    private $id = 'shadowing private property';
    public $extra = ['k' => 1.5];
}

class LegacyCustom implements Serializable
{
    public $payload;
    public function __construct($payload = null) { $this->payload = $payload; }
    public function serialize() { return serialize($this->payload); }
    public function unserialize($data) { $this->payload = unserialize($data); }
}

enum Suit: string
{
    case Hearts = 'H';
    case Spades = 'S';
}

class FilteringSaveHandler extends SessionHandler implements SessionUpdateTimestampHandlerInterface
{
    public function write($id, $data): bool
    {
        if (!empty($_SERVER['HTTP_X_SESSIONREADONLY'])) {
            return true; // like the live handler: skip the SETEX, report success
        }
        return parent::write($id, $data);
    }

    /**
     * Needed for session.use_strict_mode: without it a wrapped handler accepts any id a client sends
     * (checked: an unknown cookie id was adopted). An id is valid when a non-empty session is stored under it.
     */
    public function validateId($id): bool
    {
        return parent::read($id) !== '';
    }

    /** lazy_write with unchanged data: slide the TTL by rewriting, filtered like any write. */
    public function updateTimestamp($id, $data): bool
    {
        return $this->write($id, $data);
    }
}

session_set_save_handler(new FilteringSaveHandler(), true);

/** Starts the session only when the browser sent the cookie (pages that must not create one). */
function start_existing_session(array $options = []): bool
{
    if (!isset($_COOKIE[session_name()])) {
        return false;
    }
    session_start($options);
    return true;
}

function send_json($value, int $status = 200): void
{
    http_response_code($status);
    header('Content-Type: application/json; charset=utf-8');
    header('Cache-Control: no-store');
    echo json_encode($value, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION);
}

/** A date as the Mezzio front writes it in the identity: DateTime::format('c'), UTC. */
function c_date(int $unixSeconds): string
{
    return (new DateTimeImmutable('@' . $unixSeconds))->setTimezone(new DateTimeZone('UTC'))->format('c');
}
