import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../config/config.ts';

test(
  'OS Places: unset key is the embedded fixture; a malformed key is refused without echoing ' +
    'it; the endpoint is a URL',
  () => {
    const plain = loadConfig({});
    assert.equal(plain.osPlacesApiKey, undefined);
    assert.equal(plain.osPlacesUrl.href, 'https://api.os.uk/search/places/v1/postcode');
    assert.equal(loadConfig({ OS_PLACES_API_KEY: 'AbCdEf1234567890' }).osPlacesApiKey, 'AbCdEf1234567890');
    assert.throws(
      () => loadConfig({ OS_PLACES_API_KEY: 'secret&key=x' }),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('secret&key'),
    );
    assert.throws(() => loadConfig({ OS_PLACES_URL: 'ftp://example.com/x' }), ConfigError);
  },
);
