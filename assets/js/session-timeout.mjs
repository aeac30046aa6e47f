// Session timeout warning (progressive enhancement; signed-in pages only). Without it, nothing changes:
// the server still signs an idle user out and the next page goes to the "signed out" sign-in page.
//
// The GOV.UK / HMRC timeout pattern: a modal dialog some minutes before the sign-in expires, saying when,
// with "Stay signed in" (one ordinary GET, which slides the sign-in) and "Sign out" (the page's own sign-out
// form, so CSRF applies). When time is up it goes to that page (PATHS.loginTimeout).
// How long is left comes from GET PATHS.sessionState, sent with `X-SessionReadOnly: true`: asking never extends it.
// 204 there means the sign-in has ended.
//
// The URLs are the server's (src/paths.ts), read from this script's own element, which the layout renders as
// <script ... data-app-session-timeout data-state-url="…" data-timed-out-url="…" data-warning-seconds="…">.
// Without the URLs it does nothing; without a valid data-warning-seconds (SESSION_WARNING_SECONDS) it warns 5 minutes
// before.
//
// No HTML sinks: every node is made with createElement and textContent (the CSP requires Trusted Types).

const DEFAULT_WARN_SECONDS = 5 * 60;
const MAX_POLL_SECONDS = 5 * 60;
const MIN_POLL_SECONDS = 15;

/** @returns {Promise<number | null>} seconds left, or null when the question could not be answered */
async function remainingSeconds(stateUrl) {
  try {
    const response = await fetch(stateUrl, {
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json', 'X-SessionReadOnly': 'true' },
    });
    if (response.status === 204) return 0; // no sign-in left (the live front's answer too)
    if (!response.ok) return null;
    const body = await response.json();
    return typeof body?.remainingSeconds === 'number' ? body.remainingSeconds : null;
  } catch {
    return null;
  }
}

/** "4 minutes" / "1 minute" / "45 seconds": the coarse time screen readers are told. */
function describe(seconds) {
  if (seconds >= 60) {
    const minutes = Math.ceil(seconds / 60);
    return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  }
  const s = Math.max(0, Math.ceil(seconds / 15) * 15);
  return `${s} second${s === 1 ? '' : 's'}`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function buildDialog(onStay, signOutForm) {
  const dialog = element('dialog', 'app-timeout-dialog');
  dialog.setAttribute('aria-labelledby', 'app-timeout-heading');
  dialog.setAttribute('aria-describedby', 'app-timeout-message');
  dialog.dataset.qa = 'timeout-dialog';

  const heading = element('h2', 'govuk-heading-m', 'You’re about to be signed out');
  heading.id = 'app-timeout-heading';
  const message = element('p', 'govuk-body');
  message.id = 'app-timeout-message';
  const prefix = document.createTextNode('For your security, we will sign you out in ');
  const time = element('strong', 'govuk-!-font-weight-bold');
  const suffix = document.createTextNode('.');
  message.append(prefix, time, suffix);
  // Screen readers hear the time when it changes while the dialog is open, not every second.
  const live = element('p', 'govuk-visually-hidden');
  live.setAttribute('aria-live', 'polite');

  const stay = element('button', 'govuk-button', 'Stay signed in');
  stay.type = 'button';
  stay.dataset.qa = 'stay-signed-in';
  stay.addEventListener('click', onStay);

  const group = element('div', 'govuk-button-group');
  group.append(stay);
  if (signOutForm) {
    const out = element('button', 'govuk-button govuk-button--secondary', 'Sign out');
    out.type = 'button';
    out.addEventListener('click', () => {
      signOutForm.requestSubmit();
    });
    group.append(out);
  }
  dialog.append(heading, message, live, group);
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    onStay();
  });
  document.body.append(dialog);

  let spoken = '';
  return {
    dialog,
    show(seconds) {
      const text = describe(seconds);
      time.textContent = text;
      if (!dialog.open) {
        // Opening the dialog reads its description (which holds the time) once; the live region stays quiet until
        // the time it says changes, so screen readers do not hear the same sentence twice.
        spoken = text;
        live.textContent = '';
        dialog.showModal();
        stay.focus();
      } else if (text !== spoken) {
        spoken = text;
        live.textContent = `We will sign you out in ${text}.`;
      }
    },
    hide() {
      if (dialog.open) dialog.close();
      spoken = '';
    },
  };
}

/** The settings the server put on this script's element, or null when they are missing. */
function readSettings() {
  const script = document.querySelector('script[data-app-session-timeout]');
  const stateUrl = script?.dataset.stateUrl;
  const timedOutUrl = script?.dataset.timedOutUrl;
  if (!stateUrl || !timedOutUrl) return null;
  const warnSeconds = Number(script.dataset.warningSeconds);
  return {
    stateUrl,
    timedOutUrl,
    warnSeconds: Number.isInteger(warnSeconds) && warnSeconds > 0 ? warnSeconds : DEFAULT_WARN_SECONDS,
  };
}

export function initSessionTimeout() {
  if (typeof window.fetch !== 'function' || typeof HTMLDialogElement !== 'function') return;
  const settings = readSettings();
  if (settings === null) return;
  const signOutForm = document.querySelector('form.app-sign-out');
  let timer = 0;
  let deadline = 0;
  let tick = 0;
  let ui = null;
  let returnFocus = null;

  const expire = () => {
    window.location.assign(settings.timedOutUrl);
  };

  const schedule = (seconds) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, Math.max(1, seconds) * 1000);
  };

  const stopCountdown = () => {
    window.clearInterval(tick);
    tick = 0;
  };

  const startCountdown = () => {
    if (tick !== 0) return;
    tick = window.setInterval(() => {
      const ms = deadline - Date.now();
      if (ms <= 0) {
        stopCountdown();
        void finish();
        return;
      }
      ui.show(Math.ceil(ms / 1000));
    }, 1000);
  };

  // Time is up by this page's clock: leave only once the server agrees. Arriving at the timed-out page while
  // still signed in would be sent on to the dashboard, and that page view would extend the sign-in.
  const finish = async () => {
    const left = await remainingSeconds(settings.stateUrl);
    if (left === null) {
      expire();
      return;
    }
    update(left);
  };

  const stay = async () => {
    stopCountdown();
    ui?.hide();
    if (returnFocus instanceof HTMLElement) returnFocus.focus();
    // Any ordinary signed-in GET slides the sign-in; this page is one the user may already see.
    try {
      await fetch(window.location.pathname, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { Accept: 'text/html' },
      });
    } catch {
      /* the next check will tell */
    }
    check();
  };

  async function check() {
    const left = await remainingSeconds(settings.stateUrl);
    if (left === null) {
      schedule(MAX_POLL_SECONDS);
      return;
    }
    update(left);
  }

  function update(left) {
    if (left <= 0) {
      expire();
      return;
    }
    deadline = Date.now() + left * 1000;
    if (left <= settings.warnSeconds) {
      ui ??= buildDialog(() => {
        void stay();
      }, signOutForm);
      // Where the user was, taken before the dialog moves focus to its button.
      if (!ui.dialog.open) returnFocus = document.activeElement;
      ui.show(left);
      startCountdown();
      // Another tab may extend the sign-in meanwhile: ask again before the end.
      schedule(Math.max(MIN_POLL_SECONDS, Math.min(60, left - 5)));
      return;
    }
    stopCountdown();
    ui?.hide();
    schedule(Math.min(MAX_POLL_SECONDS, Math.max(MIN_POLL_SECONDS, left - settings.warnSeconds)));
  }

  void check();
}

initSessionTimeout();
