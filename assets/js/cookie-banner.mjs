// The cookie banner with JavaScript (docs/adr/0037): the choice is sent without a reload and the confirmation that is
// already in the page is shown. Without this file the form posts and the next page shows the confirmation.
// No HTML sinks: elements are shown, hidden and focused, never written (the CSP requires Trusted Types).
const banner = document.querySelector('[data-app-cookie-banner]');
const form = document.querySelector('form[data-app-cookie-form]');

function show(choice) {
  const question = banner.querySelector('[data-app-cookie-question]');
  const confirmation = banner.querySelector(`[data-app-cookie-confirmation="${choice}"]`);
  if (question === null || confirmation === null) return false;
  question.hidden = true;
  confirmation.hidden = false;
  confirmation.focus();
  return true;
}

// Posts the form the ordinary way, with the button's value (what the browser would have sent).
function postWithoutScript(submitter) {
  const field = document.createElement('input');
  field.type = 'hidden';
  field.name = submitter.name;
  field.value = submitter.value;
  form.append(field);
  form.submit();
}

if (banner !== null && form !== null) {
  form.addEventListener('submit', (event) => {
    const submitter = event.submitter;
    if (submitter === null || submitter.name !== 'analytics') return;
    event.preventDefault();
    const body = new URLSearchParams(new FormData(form, submitter));
    body.set('js', '1');
    fetch(form.action, { method: 'POST', body, credentials: 'same-origin', redirect: 'error' })
      .then((response) => {
        if (response.status !== 204 || !show(submitter.value === 'accept' ? 'accepted' : 'rejected'))
          postWithoutScript(submitter);
      })
      .catch(() => postWithoutScript(submitter));
  });
}

if (banner !== null) {
  for (const hide of banner.querySelectorAll('[data-app-cookie-hide]')) {
    hide.addEventListener('click', (event) => {
      event.preventDefault();
      banner.hidden = true;
    });
  }
}
