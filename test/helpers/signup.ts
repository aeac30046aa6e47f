/** Sign-up test helpers: the emails the file transport wrote, and a filled-in sign-up form. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Built } from './app.ts';

export const SIGNUP_PASSWORD = 'Tulip-meadow-47';

export interface SentMail {
  to: string;
  template: string;
  personalisation: Record<string, string>;
}

/** Every line of DATA_DIR/mail.jsonl, in order. */
export function mails(built: Built): SentMail[] {
  const file = join(built.config.dataDir, 'mail.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SentMail);
}

export function signupForm(email: string, csrf: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    email,
    email_confirm: email,
    password: SIGNUP_PASSWORD,
    password_confirm: SIGNUP_PASSWORD,
    terms: '1',
    _csrf: csrf,
    ...extra,
  };
}
