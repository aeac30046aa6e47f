/**
 * "Your details": GET|POST /user/about-you and /user/about-you/new (the first sign-in), as the live AboutYouHandler:
 * title, names, date of birth and address, saved with `PUT /v2/user/:id` (accounts.updateDetails); then the
 * dashboard, with "Your details have been updated." except after the first sign-in. A user with no name who opens
 * /user/about-you is sent to /user/about-you/new.
 *
 * The postcode finder works without JavaScript: the "Find UK address" button posts the form (nothing is saved), and
 * the page comes back with everything typed so far and a list of the addresses at that postcode; "Use this address"
 * fills the address lines. With JavaScript, assets/js/postcode-lookup.mjs asks /address-lookup instead and fills the
 * lines in place.
 * GET /address-lookup?postcode= answers JSON exactly as the live PostcodeHandler does.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountsBackend } from '../../backends/accounts.ts';
import type { AddressLookup, LookupAddress } from '../../backends/address-lookup.ts';
import { plausiblePostcode } from '../../backends/address-lookup.ts';
import { PATHS } from '../../paths.ts';
import { httpError } from '../../platform/http-error.ts';
import { pageLanguage, takeFlash } from '../../platform/forms/index.ts';
import type { PageLanguage } from '../../platform/forms/index.ts';
import { requireSession } from '../../platform/session.ts';
import { SESSION_KEYS } from '../../sessions/session-store.ts';
import { ABOUT_YOU_NEW_ROUTE, markProfileComplete } from './profile-gate.ts';
import { NOTICE_KEY } from './user-routes.ts';
import type { AboutYouBodyType, AboutYouValues, KeyedError } from './user-schema.ts';
import { AboutYouBody, TITLES, checkAboutYou, chosenAddress, valuesFromDetails, valuesOf } from './user-schema.ts';

export interface AboutYouRoutesOptions {
  readonly accounts: AccountsBackend;
  readonly addressLookup: AddressLookup;
  readonly now?: () => number;
}

interface LookupState {
  readonly postcode: string;
  readonly addresses?: readonly LookupAddress[];
  /** Catalogue key of a message about the search (none found, not working). */
  readonly notice?: string;
}

function signedIn(request: FastifyRequest) {
  if (request.user === undefined) throw httpError(401, 'signed-in route reached without a user');
  return request.user;
}

/** The backend no longer accepts the token: sign out and say why. */
function tokenRejected(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  requireSession(request).delete(SESSION_KEYS.identity);
  return reply.redirect(PATHS.loginTimeout, 303);
}

export default async function aboutYouRoutes(app: FastifyInstance, options: AboutYouRoutesOptions): Promise<void> {
  const { accounts, addressLookup } = options;
  const now = options.now ?? Date.now;

  function render(
    reply: FastifyReply,
    language: PageLanguage,
    isNew: boolean,
    values: AboutYouValues,
    errors: readonly KeyedError[],
    lookup: LookupState | undefined,
    status: number,
    flash?: string,
  ): FastifyReply {
    const { t } = language;
    const list = errors.map((e) => ({ text: t(e.key), href: `#${e.field}` }));
    const fieldErrors: Record<string, string> = {};
    for (const e of errors) fieldErrors[e.field] ??= t(e.key);
    const dobError = errors.find((e) => e.field.startsWith('dob-date'));
    return reply.view(
      'user/about-you.njk',
      {
        lang: language.lang,
        htmlLang: language.lang,
        t,
        pageTitle: t('aboutYou:title'),
        flash,
        isNew,
        action: isNew ? PATHS.aboutYouNew : PATHS.aboutYou,
        values,
        titles: TITLES,
        errors: list.length > 0 ? list : undefined,
        fieldErrors,
        dobError: dobError === undefined ? undefined : t(dobError.key),
        lookup:
          lookup === undefined
            ? undefined
            : {
                postcode: lookup.postcode,
                notice: lookup.notice === undefined ? undefined : t(lookup.notice),
                addresses: (lookup.addresses ?? []).map((a) => ({
                  value: JSON.stringify([a.line1, a.line2, a.line3, a.postcode]),
                  text: `${a.description}, ${a.postcode}`,
                })),
              },
        dobExampleYear: new Date(now()).getUTCFullYear() - 18,
        links: {
          changePassword: PATHS.changePassword,
          changeEmail: PATHS.changeEmail,
          deleteAccount: PATHS.deleteAccount,
        },
      },
      status,
    );
  }

  async function find(postcode: string): Promise<LookupState> {
    if (postcode === '') return { postcode, notice: 'aboutYou:address.lookupRequired' };
    if (!plausiblePostcode(postcode)) return { postcode, notice: 'aboutYou:address.lookupInvalid' };
    try {
      const addresses = await addressLookup.lookupPostcode(postcode);
      return addresses.length === 0 ? { postcode, notice: 'aboutYou:address.noneFound' } : { postcode, addresses };
    } catch (err) {
      app.log.warn({ event: 'address_lookup.error', err }, 'postcode lookup failed');
      return { postcode, notice: 'aboutYou:address.lookupFailed' };
    }
  }

  function show(isNew: boolean) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const user = signedIn(request);
      const details = await accounts.getDetails(user.userId, user.token, request.id);
      if (details === null) return tokenRejected(request, reply);
      if (!isNew && details.name === null) return reply.redirect(PATHS.aboutYouNew, 302);
      const language = pageLanguage(request, reply, app.words);
      // A message another page left (the live change-password page flashes its success here).
      return render(
        reply,
        language,
        isNew,
        valuesFromDetails(details),
        [],
        undefined,
        200,
        takeFlash(request, language.t),
      );
    };
  }

  function submit(isNew: boolean) {
    return async (request: FastifyRequest<{ Body: AboutYouBodyType }>, reply: FastifyReply) => {
      const user = signedIn(request);
      const language = pageLanguage(request, reply, app.words);
      const body = request.body;
      let values = valuesOf(body);
      const action = body.action ?? 'save';
      if (action === 'find-address') {
        return render(reply, language, isNew, values, [], await find((body['postcode-lookup'] ?? '').trim()), 200);
      }
      if (action === 'use-address') {
        const chosen = chosenAddress(body['address-choice']);
        if (chosen === null)
          return render(reply, language, isNew, values, [], await find((body['postcode-lookup'] ?? '').trim()), 200);
        values = {
          ...values,
          'address-address1': chosen.line1,
          'address-address2': chosen.line2,
          'address-address3': chosen.line3,
          'address-postcode': chosen.postcode,
        };
        return render(reply, language, isNew, values, [], undefined, 200);
      }
      const { errors, update } = checkAboutYou(values, new Date(now()));
      if (update === null) return render(reply, language, isNew, values, errors, undefined, 400);
      const saved = await accounts.updateDetails(user.userId, user.token, update, request.id);
      if (!saved) return tokenRejected(request, reply);
      markProfileComplete(request, user.userId, true);
      // The live front flashes this on the dashboard, except after the first sign-in.
      if (!isNew) requireSession(request).set(NOTICE_KEY, 'name-updated');
      return reply.redirect(PATHS.dashboard, 303);
    };
  }

  app.get(PATHS.aboutYou, show(false));
  // The path this front links to, and (as the live `[/{new}]`) any other second segment, which the edge leaves to
  // the legacy front: both are the first-sign-in page.
  for (const url of [PATHS.aboutYouNew, ABOUT_YOU_NEW_ROUTE]) {
    app.get(url, show(true));
    app.post<{ Body: AboutYouBodyType }>(url, { schema: { body: AboutYouBody } }, submit(true));
  }
  app.post<{ Body: AboutYouBodyType }>(PATHS.aboutYou, { schema: { body: AboutYouBody } }, submit(false));

  // The live PostcodeHandler's answer: an empty or missing postcode is "not valid"; a failed lookup is logged and
  // answers no addresses. Signed in only (not in PUBLIC_ROUTES); an anonymous caller gets 401 (json route).
  app.get<{ Querystring: { postcode?: string } }>(
    PATHS.addressLookup,
    {
      config: { json: true },
      schema: { querystring: { type: 'object', properties: { postcode: { type: 'string', maxLength: 100 } } } },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const postcode = (request.query.postcode ?? '').trim();
      if (postcode === '') return reply.send({ isPostcodeValid: false, success: false, addresses: [] });
      let addresses: readonly LookupAddress[] = [];
      if (plausiblePostcode(postcode)) {
        try {
          addresses = await addressLookup.lookupPostcode(postcode);
        } catch (err) {
          request.log.warn({ event: 'address_lookup.error', err }, 'postcode lookup failed');
        }
      }
      return reply.send({ isPostcodeValid: true, success: addresses.length > 0, addresses });
    },
  );
}
