/**
 * "Your details" (/user/about-you, /user/about-you/new: about-you.form.ts, on the form kit) and
 * GET /address-lookup?postcode=, which answers JSON exactly as the live PostcodeHandler does (the postcode finder
 * with JavaScript, assets/js/postcode-lookup.mjs, asks it).
 */
import type { FastifyInstance } from 'fastify';
import type { AccountsBackend } from '../../backends/accounts.ts';
import type { AddressLookup, LookupAddress } from '../../backends/address-lookup.ts';
import { plausiblePostcode } from '../../backends/address-lookup.ts';
import { PATHS } from '../../paths.ts';
import { addForm } from '../../platform/forms/index.ts';
import { aboutYouForm } from './about-you.form.ts';

export interface AboutYouRoutesOptions {
  readonly accounts: AccountsBackend;
  readonly addressLookup: AddressLookup;
  readonly now?: () => number;
}

export default async function aboutYouRoutes(app: FastifyInstance, options: AboutYouRoutesOptions): Promise<void> {
  const { addressLookup } = options;
  // On the form kit (about-you.form.ts): the page, and its first-sign-in variant.
  for (const isNew of [false, true]) addForm(app, aboutYouForm({ ...options, log: app.log }, isNew));

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
