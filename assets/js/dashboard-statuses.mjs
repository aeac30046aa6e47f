// Dashboard status refresh (progressive enhancement), as the live front's assets/js/opg/dashboard-statuses.js:
// the LPAs whose status OPG's case system may have changed carry data-refresh-id; one GET to the legacy front's
// /user/dashboard/statuses/<id,id,...> (read-only for the session) answers {"<id>": {"found": true, "status":
// "Received"}}
// and each found status replaces the one shown. Without the script, or when the request fails, the page keeps the
// status the API stored.
//
// Its URL and the words for each status come from this script's own element (dashboard.njk). No HTML sinks: only
// textContent and attributes (the CSP requires Trusted Types).

const script = document.querySelector('script[data-app-dashboard-statuses]');
const base = script?.getAttribute('data-statuses-url');
const items = [...document.querySelectorAll('li[data-refresh-id]')];
const ids = items.map((li) => li.getAttribute('data-refresh-id')).filter((id) => id !== null && /^\d{1,20}$/.test(id));

/** @returns {Record<string, string>} */
function labels() {
  try {
    const parsed = JSON.parse(script?.getAttribute('data-labels') ?? '{}');
    return parsed !== null && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/** The tag colour of each status, as dashboard.njk's tagColours. */
const COLOURS = {
  started: 'grey',
  created: 'grey',
  completed: 'blue',
  waiting: 'yellow',
  received: 'turquoise',
  checking: 'purple',
  processed: 'green',
};

async function refresh() {
  if (typeof base !== 'string' || !base.startsWith('/') || ids.length === 0) return;
  let results;
  try {
    const response = await fetch(base + ids.join(','), {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json', 'X-SessionReadOnly': 'true' },
    });
    if (!response.ok) return;
    results = await response.json();
  } catch {
    return;
  }
  if (results === null || typeof results !== 'object') return;
  const words = labels();
  for (const li of items) {
    const id = li.getAttribute('data-refresh-id');
    const result = id === null ? undefined : results[id];
    if (result === null || typeof result !== 'object' || result.found !== true || typeof result.status !== 'string')
      continue;
    const status = result.status.toLowerCase().replace(/[^a-z]/g, '');
    if (status === '') continue;
    const tag = li.querySelector('[data-status]');
    if (tag !== null) {
      tag.textContent = typeof words[status] === 'string' ? words[status] : result.status;
      tag.setAttribute('data-status', status);
      for (const c of [...tag.classList]) if (c.startsWith('govuk-tag--')) tag.classList.remove(c);
      tag.classList.add(`govuk-tag--${COLOURS[status] ?? 'grey'}`);
    }
    const link = li.querySelector('.app-lpa-status-link');
    if (link !== null) link.textContent = link.textContent.replace(/^(\S+\s)\S+/, `$1${status}`);
    li.setAttribute('data-refreshed', 'true');
  }
}

refresh();
