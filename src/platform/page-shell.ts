/**
 * Signed-in pages as a shell rendered once and content rendered per request (ADR 0057).
 *
 * A signed-in page's layout (govuk-frontend's page template, the header, cookie banner, footer, scripts) is the same
 * for every user of one language and consent state; only the CSP nonce, the sign-out form's CSRF token and the page's
 * own content differ. Rendering the whole template per request was most of the dashboard's CPU, and sending it as one
 * long string cost a flatten and a UTF-8 encode of all of it (docs/adr/0057). Here the template is rendered once per
 * key with random markers for those three values, kept as bytes, and each response is the shell's bytes with its own
 * nonce, token and content written between them, into a body reused once the response has finished (as body-pool.ts).
 *
 * Guards: the shell is rendered from a context the caller builds without anything of one user's (the content, the
 * only per-user part, is rendered separately); nonce and token must match SPLICE_SAFE (they are inserted raw); the
 * content is autoescaped HTML from its own render. A test renders both ways over a table of page states and compares
 * the bytes (test/integration/page-shell.integration.test.ts).
 */
import { randomBytes } from 'node:crypto';
import type nunjucks from 'nunjucks';
import { SPLICE_SAFE } from './body-pool.ts';
import type { Finishes } from './body-pool.ts';
import { markedSafe } from './view-speedups.ts';

type Slot = 'nonce' | 'csrf' | 'content';

export interface Shell {
  readonly parts: readonly Buffer[];
  readonly slots: readonly Slot[];
  readonly partBytes: number;
}

/** Shells kept per template (languages x consent states: a dozen today) and their bytes (docs/adr/0032). */
export interface ShellBounds {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Idle response bodies kept for reuse, in bytes. */
  readonly maxIdleBodyBytes: number;
}

export const SHELL_BOUNDS: ShellBounds = {
  maxEntries: 64,
  maxBytes: 2 * 1024 * 1024,
  maxIdleBodyBytes: 4 * 1024 * 1024,
};

/** Response bodies are taken from free lists by size class (powers of two from 16 KiB) and given back on finish. */
const MIN_BODY_BYTES = 16 * 1024;

export class PageShells {
  readonly #env: nunjucks.Environment;
  readonly #template: string;
  readonly #contentName: string;
  readonly #bounds: ShellBounds;
  readonly #shells = new Map<string, Shell>();
  #shellBytes = 0;
  readonly #free = new Map<number, Buffer[]>();
  #idleBytes = 0;

  /** `contentName`: the context variable the template outputs in place of its content when it is set. */
  constructor(env: nunjucks.Environment, template: string, contentName: string, bounds: ShellBounds = SHELL_BOUNDS) {
    this.#env = env;
    this.#template = template;
    this.#contentName = contentName;
    this.#bounds = bounds;
  }

  /**
   * The shell for `key`, rendered from `context()` the first time (and every time past the bounds). `context` must
   * hold nothing of one user's or one request's: the shell is sent to everyone whose request has the same key.
   */
  shell(key: string, context: () => Record<string, unknown>): Shell {
    let shell = this.#shells.get(key);
    if (shell === undefined) {
      shell = this.#render(context());
      if (this.#shells.size < this.#bounds.maxEntries && this.#shellBytes + shell.partBytes <= this.#bounds.maxBytes) {
        this.#shells.set(key, shell);
        this.#shellBytes += shell.partBytes;
      }
    }
    return shell;
  }

  #render(context: Record<string, unknown>): Shell {
    const id = randomBytes(12).toString('hex');
    const markers: Record<Slot, string> = {
      nonce: `shellnonce${id}`,
      csrf: `shellcsrf${id}`,
      content: `shellcontent${id}`,
    };
    const html = this.#env.render(this.#template, {
      ...context,
      cspNonce: markers.nonce,
      csrfToken: () => markers.csrf,
      [this.#contentName]: markedSafe(markers.content),
    });
    const parts: Buffer[] = [];
    const slots: Slot[] = [];
    let from = 0;
    for (;;) {
      let at = -1;
      let slot: Slot = 'content';
      for (const s of ['nonce', 'csrf', 'content'] as const) {
        const i = html.indexOf(markers[s], from);
        if (i !== -1 && (at === -1 || i < at)) {
          at = i;
          slot = s;
        }
      }
      if (at === -1) break;
      parts.push(Buffer.from(html.slice(from, at)));
      slots.push(slot);
      from = at + markers[slot].length;
    }
    parts.push(Buffer.from(html.slice(from)));
    if (slots.filter((s) => s === 'content').length !== 1)
      throw new Error(`page shell ${this.#template}: the content must appear exactly once`);
    return { parts, slots, partBytes: parts.reduce((n, p) => n + p.length, 0) };
  }

  /**
   * The page: the shell's parts with this response's nonce, token and content between them, in a body that goes back
   * to a free list when `res` has finished (so a 20-100 KB page is not a new external buffer per response).
   */
  body(shell: Shell, values: { nonce: string; csrf: () => string; content: string }, res: Finishes): Buffer {
    let token: string | undefined;
    const filled: string[] = [];
    let size = shell.partBytes;
    for (const slot of shell.slots) {
      let value: string;
      if (slot === 'content') {
        value = values.content;
        size += Buffer.byteLength(value, 'utf8');
      } else {
        value = slot === 'nonce' ? values.nonce : (token ??= values.csrf());
        if (!SPLICE_SAFE.test(value)) throw new Error('page shell: a value to splice in would need escaping');
        size += value.length;
      }
      filled.push(value);
    }
    const body = this.#take(size);
    let at = 0;
    shell.parts.forEach((part, i) => {
      if (i > 0) {
        const value = filled[i - 1] ?? '';
        at += body.write(value, at, shell.slots[i - 1] === 'content' ? 'utf8' : 'latin1');
      }
      at += part.copy(body, at);
    });
    res.once('finish', () => {
      this.#give(body);
    });
    return body.subarray(0, size);
  }

  #take(size: number): Buffer {
    let capacity = MIN_BODY_BYTES;
    while (capacity < size) capacity *= 2;
    const body = this.#free.get(capacity)?.pop();
    if (body === undefined) return Buffer.alloc(capacity); // zeroed: only on a miss, and never pooled memory
    this.#idleBytes -= body.length;
    return body;
  }

  #give(body: Buffer): void {
    if (this.#idleBytes + body.length > this.#bounds.maxIdleBodyBytes) return; // left to the garbage collector
    let list = this.#free.get(body.length);
    if (list === undefined) {
      list = [];
      this.#free.set(body.length, list);
    }
    list.push(body);
    this.#idleBytes += body.length;
  }
}
