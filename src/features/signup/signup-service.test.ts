import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_ACCOUNTS_MIGRATIONS, createLocalAccounts } from '../../backends/local-accounts.ts';
import { openStore } from '../../backends/sqlite-store.ts';
import type { Email } from '../../backends/mail.ts';
import { activationUrl, createSignupService } from './signup-service.ts';

const ORIGIN = 'https://lpa.example.gov.uk';

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'lpa-signup-'));
  const store = openStore(dir, { migrations: LOCAL_ACCOUNTS_MIGRATIONS });
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const accounts = createLocalAccounts({ db: () => store.db, scrypt: { log2N: 10, r: 8, p: 1 } });
  const sent: Omit<Email, 'reference'>[] = [];
  const service = createSignupService({
    accounts,
    mail: {
      send: (email) => {
        sent.push(email);
        return Promise.resolve({ id: sent.length, sent: true });
      },
    },
    publicOrigin: ORIGIN,
  });
  return { accounts, sent, service };
}

test('the email tells the owner what happened, row by row of ADR 0045', async (t) => {
  const { sent, service } = setup(t);
  const email = 'ada@example.com';
  assert.equal(await service.resendActivation(email), 'unknown');
  assert.equal(sent.length, 0, 'no email to an address with no account');

  assert.equal(await service.register(email, 'Tulip-meadow-47'), 'created');
  assert.equal(sent.at(-1)?.template, 'accountActivate');
  const url = sent.at(-1)?.personalisation.activateAccountUrl ?? '';
  assert.ok(url.startsWith(`${ORIGIN}/signup/confirm/`), url);

  assert.equal(await service.register(email, 'Tulip-meadow-47'), 'exists');
  assert.deepEqual(sent.at(-1), { to: email, template: 'accountDuplicationWarning', personalisation: {} });

  assert.equal(await service.resendActivation(email), 'activation-sent');
  assert.equal(sent.at(-1)?.template, 'accountActivate');
  const token = decodeURIComponent(
    new URL(sent.at(-1)?.personalisation.activateAccountUrl ?? '').pathname.split('/').at(-1) ?? '',
  );
  assert.equal(await service.activate(token), 'activated');
  assert.equal(await service.activate(token), 'invalid-token');

  assert.equal(await service.resendActivation(email), 'exists');
  assert.equal(sent.at(-1)?.template, 'accountDuplicationWarning');
  assert.equal(sent.length, 4);
});

test('activation links are absolute, on the public origin, the token escaped', () => {
  assert.equal(activationUrl(ORIGIN, 'ab/c'), `${ORIGIN}/signup/confirm/ab%2Fc`);
});
