/**
 * What sign up does besides its pages: register or re-send activation through the accounts backend and send the
 * email that tells the address's owner what happened, as the PHP front does (service-front Service/UserDetails.php
 * registerAccount, resendActivateEmail, activateAccount):
 *
 * | Request | Address unknown | Account not yet active | Account active |
 * |---|---|---|---|
 * | sign up | account created, activation email | "account already exists" email | "account already exists" email |
 * | resend activation | no email | activation email (a new link) | "account already exists" email |
 *
 * The pages answer the same whatever the row (no enumeration); only the email differs. The live resend page says
 * when an address has no inactive account; this one does not. Tokens go into the email link and nowhere else.
 */
import type { AccountsBackend } from '../../backends/accounts.ts';
import type { MailOutbox } from '../../backends/mail-outbox.ts';
import { TOKEN_PATHS } from '../../paths.ts';

export type SignupOutcome = 'created' | 'exists' | 'invalid-email' | 'invalid-password';
export type ResendOutcome = 'activation-sent' | 'exists' | 'unknown';

export interface SignupService {
  register(email: string, password: string, traceId?: string): Promise<SignupOutcome>;
  resendActivation(email: string, traceId?: string): Promise<ResendOutcome>;
  activate(token: string, traceId?: string): Promise<'activated' | 'invalid-token'>;
}

export interface SignupServiceOptions {
  readonly accounts: AccountsBackend;
  readonly mail: Pick<MailOutbox, 'send'>;
  /** PUBLIC_ORIGIN: email links are absolute, as the PHP front's. */
  readonly publicOrigin: string;
}

/** The activation link for a token (the live route `register/confirm`). */
export function activationUrl(publicOrigin: string, token: string): string {
  return `${publicOrigin}${TOKEN_PATHS.signupConfirm}${encodeURIComponent(token)}`;
}

export function createSignupService(options: SignupServiceOptions): SignupService {
  const { accounts, mail, publicOrigin } = options;

  const sendActivation = (to: string, token: string) =>
    mail.send({
      to,
      template: 'accountActivate',
      personalisation: { activateAccountUrl: activationUrl(publicOrigin, token) },
    });
  const sendExists = (to: string) => mail.send({ to, template: 'accountDuplicationWarning', personalisation: {} });

  return {
    async register(email, password, traceId) {
      const result = await accounts.register(email, password, traceId);
      if (result.outcome === 'created') await sendActivation(email, result.activationToken);
      else if (result.outcome === 'exists') await sendExists(email);
      return result.outcome;
    },

    async resendActivation(email, traceId) {
      const result = await accounts.requestPasswordReset(email, traceId);
      if (result.outcome === 'not-activated') {
        await sendActivation(email, result.activationToken);
        return 'activation-sent';
      }
      // An active account: the API has issued a reset token, which is never sent; its owner learns an account exists.
      if (result.outcome === 'reset') {
        await sendExists(email);
        return 'exists';
      }
      return 'unknown';
    },

    activate: (token, traceId) => accounts.activate(token, traceId),
  };
}
