// GA4's page set-up (docs/adr/0037), served only to a visitor who accepted analytics cookies, as a classic script
// (no import or export) that runs before gtag.js. It creates the Trusted Types `default` policy, which lets a script
// URL through only on GA4's hosts (no HTML, no script text), and configures GA4 without Google signals or ad
// personalisation, on the configured cookie domain, with a page location that is the path alone (no query string).
(function () {
  const script = document.currentScript;
  if (script === null) return;
  const data = script.dataset;
  const HOSTS = ['googletagmanager.com', 'google-analytics.com', 'analytics.google.com'];
  const allowed = (value) => {
    const url = new URL(value, document.baseURI);
    return url.protocol === 'https:' && HOSTS.some((host) => url.hostname === host || url.hostname.endsWith(`.${host}`))
      ? url.href
      : null;
  };
  if (window.trustedTypes !== undefined && window.trustedTypes.defaultPolicy === null) {
    window.trustedTypes.createPolicy('default', { createScriptURL: allowed });
  }
  window.dataLayer = window.dataLayer || [];
  window.gtag = function gtag() {
    window.dataLayer.push(arguments);
  };
  window.gtag('js', new Date());
  window.gtag('config', data.measurementId, {
    cookie_domain: data.cookieDomain,
    allow_google_signals: false,
    allow_ad_personalization_signals: false,
    page_location: data.pageLocation,
    // The referrer may be one of this service's pages with a token in its URL: only its origin is sent.
    page_referrer: document.referrer === '' ? '' : `${new URL(document.referrer).origin}/`,
  });
})();
