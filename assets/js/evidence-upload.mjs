// Progress for each file on the evidence page (issue 23, docs/adr/0040), progressive enhancement: without this script
// the form posts as it is and the server answers with the page. With it, the form's own body (its FormData: `_csrf`
// first, then the files, as the server requires) is sent by XMLHttpRequest, whose upload events give the progress;
// the server's answer (the page with its banner, or with its errors) then replaces <main>, so there is one way of
// telling the result. Anything unexpected (no page in the answer, a network error) says so and leaves the form to try
// again. Words come from the form's data attributes (the server's catalogue). No HTML sinks (the CSP requires Trusted
// Types): the answer is parsed by XMLHttpRequest itself, which runs nothing, and the rest is createElement/textContent.
import { initAll } from './govuk-frontend.min.js';

function fill(template, values) {
  return (template || '').replace(/\{\{(\w+)\}\}/g, (_, key) => String(values[key] ?? ''));
}

function enhance(form) {
  const input = form.querySelector('input[type="file"]');
  const button = form.querySelector('[data-qa="upload"]');
  if (!input || !button || typeof XMLHttpRequest === 'undefined' || typeof FormData === 'undefined') return;
  const text = form.dataset;

  form.addEventListener('submit', (event) => {
    const files = Array.from(input.files || []);
    if (files.length === 0) return; // the server's "Select a file" answer, as without JavaScript
    event.preventDefault();
    const body = new FormData(form);

    const panel = document.createElement('div');
    panel.className = 'app-upload-progress';
    panel.dataset.qa = 'upload-progress';
    const heading = document.createElement('h2');
    heading.className = 'govuk-heading-s';
    heading.textContent = text.textHeading;
    const list = document.createElement('ul');
    list.className = 'govuk-list';
    // Announced at milestones only (start, each file sent, all sent): not at every percent.
    const status = document.createElement('p');
    status.className = 'govuk-body';
    status.dataset.qa = 'upload-status';
    status.setAttribute('role', 'status');
    const rows = files.map((file, i) => {
      const item = document.createElement('li');
      item.dataset.qa = 'file-progress';
      const label = document.createElement('label');
      label.className = 'govuk-label govuk-!-margin-bottom-1';
      label.htmlFor = `upload-progress-${i}`;
      label.textContent = file.name;
      const bar = document.createElement('progress');
      bar.id = `upload-progress-${i}`;
      bar.className = 'app-upload-progress__bar';
      bar.max = 100;
      bar.value = 0;
      const percent = document.createElement('span');
      percent.className = 'govuk-body-s app-upload-progress__percent';
      percent.setAttribute('aria-hidden', 'true'); // the bar itself gives the value to assistive technology
      percent.textContent = fill(text.textPercent, { percent: 0 });
      item.append(label, bar, percent);
      list.append(item);
      return { file, bar, percent, sent: false };
    });
    panel.append(heading, list, status);
    form.after(panel);
    button.disabled = true;
    input.disabled = true;
    status.textContent = text.textStarted;

    const total = files.reduce((sum, f) => sum + f.size, 0);
    const show = (loaded, of) => {
      // The body is the files in order plus a few hundred bytes of part headers: share `loaded` out in that order.
      let left = of > 0 ? (loaded / of) * total : 0;
      for (const row of rows) {
        const mine = Math.max(0, Math.min(row.file.size, left));
        left -= row.file.size;
        const value = row.file.size === 0 ? (left >= 0 ? 100 : 0) : Math.floor((mine / row.file.size) * 100);
        row.bar.value = value;
        row.percent.textContent = fill(text.textPercent, { percent: value });
        if (value === 100 && !row.sent) {
          row.sent = true;
          status.textContent = fill(text.textFileSent, { name: row.file.name });
        }
      }
    };

    const failed = () => {
      status.textContent = text.textFailed;
      button.disabled = false;
      input.disabled = false;
    };

    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.responseType = 'document';
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) show(e.loaded, e.total);
    });
    xhr.upload.addEventListener('load', () => {
      show(1, 1);
      status.textContent = text.textChecking;
    });
    xhr.addEventListener('error', failed);
    xhr.addEventListener('abort', failed);
    xhr.addEventListener('load', () => {
      const page = xhr.responseXML;
      const next = page && page.querySelector('main');
      const current = document.querySelector('main');
      if (!next || !current) return failed();
      const fresh = document.importNode(next, true);
      for (const script of fresh.querySelectorAll('script')) script.remove();
      current.replaceWith(fresh);
      if (page.title) document.title = page.title;
      // The banner and the error summary take focus themselves when initialised (as on a page load).
      initAll({ scope: fresh });
      for (const f of fresh.querySelectorAll('form[data-app-evidence-upload]')) enhance(f);
    });
    xhr.send(body);
  });
}

for (const form of document.querySelectorAll('form[data-app-evidence-upload]')) enhance(form);
