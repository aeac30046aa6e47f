/**
 * "Your details" on the form kit (ADR 0053): GET|POST /user/about-you and /user/about-you/new (the first sign-in), as
 * the live AboutYouHandler: title, names, date of birth and address (user-schema.ts), saved with `PUT /v2/user/:id`
 * (accounts.updateDetails); then the dashboard, with "Your details have been updated." except after the first sign-in.
 * A user with no name who opens /user/about-you is sent to /user/about-you/new.
 *
 * Three buttons, three actions: "Save and continue" checks every field and saves; "Find UK address" (the postcode
 * finder without JavaScript) checks only the search box and shows the page again with the addresses at that
 * postcode, nothing saved; "Use this address" fills the address lines from the list. With JavaScript,
 * assets/js/postcode-lookup.mjs asks /address-lookup instead and fills the lines in place.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { AccountsBackend } from '../../backends/accounts.ts';
import type { AddressLookup } from '../../backends/address-lookup.ts';
import { plausiblePostcode } from '../../backends/address-lookup.ts';
import { PATHS } from '../../paths.ts';
import { httpError } from '../../platform/http-error.ts';
import { defineForm, elsewhere } from '../../platform/forms/index.ts';
import type { Outcome, Reshow, Values } from '../../platform/forms/index.ts';
import { requireSession } from '../../platform/session.ts';
import { SESSION_KEYS } from '../../sessions/session-store.ts';
import { ABOUT_YOU_NEW_ROUTE, markProfileComplete } from './profile-gate.ts';
import { NOTICE_KEY } from './user-routes.ts';
import { AboutYouBody, aboutYouFields, chosenAddress, detailsUpdate, valuesFromDetails } from './user-schema.ts';

export interface AboutYouFormOptions {
  readonly accounts: AccountsBackend;
  readonly addressLookup: AddressLookup;
  readonly log: FastifyBaseLogger;
  readonly now?: () => number;
}

function signedIn(request: FastifyRequest) {
  if (request.user === undefined) throw httpError(401, 'signed-in route reached without a user');
  return request.user;
}

/** The backend no longer accepts the token: sign out (the page then says why). */
function signOut(request: FastifyRequest): void {
  requireSession(request).delete(SESSION_KEYS.identity);
}

/** The search's answer as the page shows it: a notice (catalogue key) or the addresses to choose from. */
async function find(options: AboutYouFormOptions, postcode: string) {
  const notice = (key: string) => ({ notice: `aboutYou:address.${key}`, addresses: [] });
  if (postcode === '') return notice('lookupRequired');
  if (!plausiblePostcode(postcode)) return notice('lookupInvalid');
  try {
    const addresses = await options.addressLookup.lookupPostcode(postcode);
    if (addresses.length === 0) return notice('noneFound');
    return {
      notice: undefined,
      addresses: addresses.map((a) => ({
        value: JSON.stringify([a.line1, a.line2, a.line3, a.postcode]),
        text: `${a.description}, ${a.postcode}`,
      })),
    };
  } catch (err) {
    options.log.warn({ event: 'address_lookup.error', err }, 'postcode lookup failed');
    return notice('lookupFailed');
  }
}

/** The page at /user/about-you (`isNew` false) or /user/about-you/new and the live `/user/about-you/<any>`. */
export function aboutYouForm(options: AboutYouFormOptions, isNew: boolean) {
  const { accounts } = options;
  const now = options.now ?? Date.now;
  const lookup = async (values: Values): Promise<Reshow> => ({
    show: { context: { lookup: await find(options, values['postcode-lookup'] ?? '') } },
  });

  return defineForm({
    path: isNew ? PATHS.aboutYouNew : PATHS.aboutYou,
    ...(isNew ? { alsoAnsweredAt: [ABOUT_YOU_NEW_ROUTE] } : {}),
    title: 'aboutYou:title',
    template: 'user/about-you.njk',
    fields: aboutYouFields(() => new Date(now())),
    body: AboutYouBody,
    load: async (request) => {
      const user = signedIn(request);
      const details = await accounts.getDetails(user.userId, user.token, request.id);
      if (details === null) {
        signOut(request);
        return elsewhere(PATHS.loginTimeout, 303);
      }
      if (!isNew && details.name === null) return elsewhere(PATHS.aboutYouNew);
      return valuesFromDetails(details);
    },
    // The same for every request: the page stays slotted (rendered once per state, the answers spliced in).
    data: {
      isNew,
      links: {
        changePassword: PATHS.changePassword,
        changeEmail: PATHS.changeEmail,
        deleteAccount: PATHS.deleteAccount,
      },
    },
    actions: {
      save: {
        button: 'aboutYou:save',
        run: async (values, request): Promise<Outcome> => {
          const user = signedIn(request);
          const saved = await accounts.updateDetails(user.userId, user.token, detailsUpdate(values), request.id);
          if (!saved) {
            signOut(request);
            return { redirect: PATHS.loginTimeout };
          }
          markProfileComplete(request, user.userId, true);
          // The live front flashes this on the dashboard, except after the first sign-in.
          if (!isNew) requireSession(request).set(NOTICE_KEY, 'name-updated');
          return { redirect: PATHS.dashboard };
        },
      },
      'find-address': { button: 'aboutYou:address.find', checks: [], run: lookup },
      'use-address': {
        button: 'aboutYou:address.use',
        checks: [],
        run: (values, request) => {
          const body = request.body as { 'address-choice'?: string };
          const chosen = chosenAddress(body['address-choice']);
          // Nothing (or nothing sensible) chosen: the list again.
          if (chosen === null) return lookup(values);
          return {
            show: {
              values: {
                'address-address1': chosen.line1,
                'address-address2': chosen.line2,
                'address-address3': chosen.line3,
                'address-postcode': chosen.postcode,
                'postcode-lookup': '',
              },
            },
          };
        },
      },
    },
  });
}
