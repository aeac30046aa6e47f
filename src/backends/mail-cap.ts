/**
 * A cap on account emails to any one address (issue 22): at most `perHour` in a sliding hour, whatever sent them
 * (sign up, resend, reset, warnings), so the service cannot be used to flood someone's mailbox. Emails over the cap
 * are dropped (not queued) and logged without the address. The count lives in the shared throttle store (Redis when
 * sessions are), under a keyed hash of the address, so every instance sees it and the store holds no address.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { normaliseEmail } from './credentials.ts';
import type { MailLogger, MailOutbox } from './mail-outbox.ts';

/** What the cap needs of a throttle store (src/sessions/redis-throttle-store.ts and the memory store have it). */
export interface HitCounter {
  /** Records one hit now; how many `key` had in the last `windowSeconds`, this one included. */
  hit(key: string, windowSeconds: number): Promise<number>;
}

export interface MailCapOptions {
  readonly counter: HitCounter;
  readonly perHour: number;
  /** Keys the recipient hash (config.sessionSecret; a separate key is derived). */
  readonly secret: Buffer;
  readonly logger: MailLogger;
}

/** The outbox with `send` capped per recipient; a capped send answers `{ id: 0, sent: false, capped: true }`. */
export function capMail(outbox: MailOutbox, options: MailCapOptions): MailOutbox {
  const key = Buffer.from(hkdfSync('sha256', options.secret, Buffer.alloc(0), 'lpa-front mail cap v1', 32));
  const recipientKey = (to: string) =>
    `mail:recipient:${createHmac('sha256', key).update(normaliseEmail(to)).digest('hex').slice(0, 32)}`;
  return {
    ...outbox,
    async send(email) {
      const count = await options.counter.hit(recipientKey(email.to), 3600);
      if (count > options.perHour) {
        options.logger.warn(
          { template: email.template, perHour: options.perHour },
          'email dropped: hourly cap for its recipient reached',
        );
        return { id: 0, sent: false, capped: true };
      }
      return outbox.send(email);
    },
  };
}
