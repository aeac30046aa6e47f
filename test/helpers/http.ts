/**
 * A tiny browser-like HTTP client for integration tests: keeps cookies, sends same-origin fetch metadata
 * by default, and scrapes the CSRF token from a page. Uses the platform's fetch (undici), no redirects followed.
 */
import { parse } from 'node-html-parser';

export interface Page {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly url: string;
}

export class Browser {
  readonly origin: string;
  readonly cookies = new Map<string, string>();
  /** Sec-Fetch-Site sent with unsafe requests; null sends none (like curl). */
  fetchSite: string | null = 'same-origin';
  /** The Origin the app is configured with: what a real browser on the site sends. */
  publicOrigin: string;

  constructor(origin: string, publicOrigin = 'http://127.0.0.1:8005') {
    this.origin = origin;
    this.publicOrigin = publicOrigin;
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(
    method: string,
    path: string,
    init: { body?: string | Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Page> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size > 0 && headers.cookie === undefined) headers.cookie = this.cookieHeader();
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : new URLSearchParams(init.body).toString();
      if (!('content-type' in headers)) headers['content-type'] = 'application/x-www-form-urlencoded';
      if (this.fetchSite !== null) {
        if (!('sec-fetch-site' in headers)) headers['sec-fetch-site'] = this.fetchSite;
        if (!('origin' in headers)) headers.origin = this.publicOrigin;
      }
    }
    const res = await fetch(this.origin + path, { method, headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair === undefined || eq < 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (/max-age=0/i.test(c) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: res.status, headers: res.headers, text: await res.text(), url: path };
  }

  get(path: string, headers?: Record<string, string>): Promise<Page> {
    return this.request('GET', path, { headers });
  }

  post(path: string, body: string | Record<string, string>, headers?: Record<string, string>): Promise<Page> {
    return this.request('POST', path, { body, headers });
  }
}

export function csrfTokenFrom(html: string): string {
  const input = parse(html).querySelector('input[name="_csrf"]');
  const value = input?.getAttribute('value');
  if (value === undefined || value === '') throw new Error('no CSRF token on the page');
  return value;
}

/** Every hidden field of the page's form with this action, as a browser would send them (`_csrf` among them). */
export function hiddenFieldsFrom(html: string, action: string): Record<string, string> {
  const form = parse(html).querySelector(`form[action="${action}"]`);
  if (form === null) throw new Error(`no form posting to ${action} on the page`);
  const fields: Record<string, string> = {};
  for (const input of form.querySelectorAll('input[type="hidden"]')) {
    const name = input.getAttribute('name');
    if (name !== undefined) fields[name] = input.getAttribute('value') ?? '';
  }
  return fields;
}

export function html(text: string) {
  return parse(text);
}
