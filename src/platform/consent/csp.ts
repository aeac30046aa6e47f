/**
 * The Content-Security-Policy of a response that loads GA4 (a visitor who accepted analytics cookies): the base
 * policy widened by the GA4 hosts only (docs/adr/0037). Pure, on the policy string, so it follows whatever the base
 * policy becomes (security-headers.ts): every other directive, and every other response, is left byte for byte.
 */
export const GA_SCRIPT_SOURCES = 'https://*.googletagmanager.com';
export const GA_BEACON_SOURCES =
  'https://*.google-analytics.com https://*.analytics.google.com ' + 'https://*.googletagmanager.com';

const ADDED: Readonly<Record<string, string>> = {
  'script-src': GA_SCRIPT_SOURCES,
  'img-src': GA_BEACON_SOURCES,
  'connect-src': GA_BEACON_SOURCES,
};

/**
 * Adds the GA4 sources to script-src, img-src and connect-src. A directive the policy leaves to default-src is added
 * with default-src's sources first (so it allows no less than before); with neither, the policy is returned as is
 * except that `trusted-types`, if present, also allows the `default` policy GA4's page script creates.
 */
export function widenForAnalytics(policy: string): string {
  const directives = policy
    .split(';')
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
  const names = directives.map((d) => d.split(/\s+/, 1)[0]?.toLowerCase() ?? '');
  const fallback = directives[names.indexOf('default-src')]?.slice('default-src'.length).trim();
  const out = directives.map((d, i) => {
    const name = names[i] ?? '';
    const added = ADDED[name];
    if (added !== undefined) return `${d} ${added}`;
    if (name === 'trusted-types' && !/\s(?:default|'none')(?:\s|$)/.test(d)) return `${d} default`;
    return d;
  });
  for (const [name, added] of Object.entries(ADDED)) {
    if (names.includes(name) || fallback === undefined) continue;
    // default-src 'none' allows nothing; 'none' may not be combined with sources.
    out.push(fallback === "'none'" ? `${name} ${added}` : `${name} ${fallback} ${added}`);
  }
  return out.join('; ');
}
