import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config.ts';

const STRONG = 'q8Zr1vN3xK0pL5sT9wE2yU7iO4aD6fG1hJ3kM5nB8cV0';
const prod = { NODE_ENV: 'production', PUBLIC_ORIGIN: 'https://lpa.example.gov.uk', SESSION_SECRET: STRONG };
// A made-up key in Notify's shape: key name, service id, secret.
const KEY = 'lpa_front_test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0';

test('mail: file by default outside production, Notify when a key is set, templates from the PHP front', () => {
  const dev = loadConfig({});
  assert.equal(dev.mailTransport, 'file');
  assert.equal(dev.notifyApiKey, undefined);
  assert.equal(dev.notifyTemplates.accountActivate, '32aea199-3b82-4e2d-8228-f2cd8b58c40a');
  assert.equal(dev.notifyTemplates.newEmailNotify, '85a14f80-813e-4e72-8dc5-5549d958a592');
  assert.equal(dev.notifyBaseUrl.origin, 'https://api.notifications.service.gov.uk');
  const withKey = loadConfig({
    NOTIFY_API_KEY: KEY,
    NOTIFY_TEMPLATE_PASSWORD_RESET: '00000000-0000-4000-8000-000000000000',
  });
  assert.equal(withKey.mailTransport, 'notify');
  assert.equal(withKey.notifyTemplates.passwordReset, '00000000-0000-4000-8000-000000000000');
});

test('production refuses to start without a Notify key unless the file transport is chosen explicitly', () => {
  assert.throws(
    () => loadConfig(prod),
    (err: unknown) => err instanceof ConfigError && err.setting === 'NOTIFY_API_KEY',
  );
  assert.equal(loadConfig({ ...prod, NOTIFY_API_KEY: KEY }).mailTransport, 'notify');
  assert.equal(loadConfig({ ...prod, MAIL_TRANSPORT: 'file' }).mailTransport, 'file');
  assert.throws(
    () => loadConfig({ MAIL_TRANSPORT: 'notify' }),
    (err: unknown) => err instanceof ConfigError && err.setting === 'NOTIFY_API_KEY',
  );
});

test('a malformed key or template id is refused without echoing the key', () => {
  assert.throws(
    () => loadConfig({ NOTIFY_API_KEY: 'not-a-key-secretvalue' }),
    (err: unknown) => err instanceof ConfigError && !err.message.includes('secretvalue'),
  );
  assert.throws(() => loadConfig({ NOTIFY_TEMPLATE_ACCOUNT_ACTIVATE: 'x' }), ConfigError);
});
