// The postcode finder on "Your details", in place (progressive enhancement, like the live front's
// moj.postcode-lookup.js). Without this script the "Find UK address" button posts the form and the server answers the
// page with the list; with it, the same button asks /address-lookup (the live PostcodeHandler's JSON) and shows the
// list here, and "Use this address" fills the address lines. Anything unexpected falls back to the server's way.
//
// Its words and URL come from its fieldset's data attributes (the server's catalogue). No HTML sinks: every node is
// made with createElement and textContent (the CSP requires Trusted Types).

function enhance(fieldset) {
  const url = fieldset.dataset.lookupUrl;
  const input = fieldset.querySelector('#postcode-lookup');
  const find = fieldset.querySelector('[data-qa="find-address"]');
  const results = fieldset.querySelector('[data-qa="lookup-results"]');
  if (!url || !input || !find || !results || !find.form) return;
  const text = fieldset.dataset;

  function notice(message) {
    const p = document.createElement('div');
    p.className = 'govuk-inset-text';
    p.dataset.qa = 'lookup-notice';
    p.textContent = message;
    results.replaceChildren(p);
  }

  function list(addresses) {
    const group = document.createElement('div');
    group.className = 'govuk-form-group';
    const label = document.createElement('label');
    label.className = 'govuk-label';
    label.htmlFor = 'address-choice';
    label.textContent = text.textChoose;
    const hint = document.createElement('div');
    hint.className = 'govuk-hint';
    hint.id = 'address-choice-hint';
    hint.textContent = (text.textCount || '').replace('{{count}}', String(addresses.length));
    const select = document.createElement('select');
    select.className = 'govuk-select';
    select.id = 'address-choice';
    select.setAttribute('aria-describedby', hint.id);
    addresses.forEach((a, i) => {
      const option = document.createElement('option');
      option.value = String(i);
      option.textContent = `${a.description}, ${a.postcode}`;
      select.append(option);
    });
    const use = document.createElement('button');
    use.type = 'button';
    use.className = 'govuk-button govuk-button--secondary';
    use.dataset.qa = 'use-address';
    use.textContent = text.textUse;
    use.addEventListener('click', () => {
      const a = addresses[Number(select.value)];
      if (!a) return;
      const lines = {
        'address-address1': a.line1,
        'address-address2': a.line2,
        'address-address3': a.line3,
        'address-postcode': a.postcode,
      };
      for (const [id, value] of Object.entries(lines)) {
        const field = document.getElementById(id);
        if (field) field.value = value;
      }
      document.getElementById('address-address1')?.focus();
    });
    group.append(label, hint, select);
    results.replaceChildren(group, use);
  }

  find.addEventListener('click', async (event) => {
    const postcode = input.value.trim();
    event.preventDefault();
    if (postcode === '') return notice(text.textRequired);
    try {
      const response = await fetch(`${url}?postcode=${encodeURIComponent(postcode)}`, {
        credentials: 'same-origin',
        headers: { Accept: 'application/json' },
      });
      if (!response.ok) throw new Error(`address lookup answered ${response.status}`);
      const body = await response.json();
      if (!Array.isArray(body?.addresses)) throw new Error('address lookup answered no list');
      if (body.addresses.length === 0) return notice(text.textNone);
      list(body.addresses);
    } catch {
      // Signed out, offline, anything else: the server's way (the form posted with this button) says what happened.
      find.form.requestSubmit(find);
    }
  });
}

for (const fieldset of document.querySelectorAll('[data-module="postcode-lookup"]')) enhance(fieldset);
