/**
 * Gate: no user-facing string in a kit template or a kit handler/declaration. A planted string fails
 * scripts/lint-words.ts (templates) and the ESLint rule lpa-words/words-from-catalogue (TypeScript); the repository's
 * own kit templates pass, and a page written the old way (English in the template) would not.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { ESLint } from 'eslint';
import { lintWords, onTheKit, scanTemplate } from '../../scripts/lint-words.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('templates', () => {
  test('planted words are found: text, a macro parameter, an attribute a person hears', () => {
    const planted = [
      '{% extends "kit/form.njk" %}\n{% block intro %}<p class="govuk-body">Tell us about yourself</p>{% endblock %}',
      '{{ govukButton({ text: "Send feedback" }) }}',
      "{{ govukButton({ text: 'Continue' }) }}",
      '<button aria-label="Close the menu">{{ t("kit:continue") }}</button>',
      '<h1>{{ t("a:b") }} Details</h1>',
    ];
    for (const text of planted) assert.equal(scanTemplate('x.njk', text).length, 1, text);
  });

  test('keys, classes, ids, paths and URLs are not words', () => {
    const fine = [
      '{% extends "kit/form.njk" %}',
      '{{ govukButton({ text: t("kit:continue"), classes: "govuk-button--secondary ' +
        'govuk-!-margin-bottom-0", attributes: { "data-qa": "sign-out" } }) }}',
      '<a class="govuk-link" href="{{ paths.feedback }}">{{ t("chrome:phaseLink") }}</a>',
      '{{ govukHeader({ homepageUrl: "https://www.gov.uk" }) }} {{ govukSkipLink({ href: ' +
        '"#main-content", text: t("govuk:skipLink") }) }}',
      '{# A comment may say anything at all #}',
    ];
    for (const text of fine) assert.deepEqual(scanTemplate('x.njk', text), [], text);
  });

  test('the repository passes; the example form passes; an English page would not', async () => {
    assert.deepEqual(await lintWords(), []);
    const example = readFileSync(`${ROOT}test/kit/example-form/paper-form.njk`, 'utf8');
    assert.ok(onTheKit('test/kit/example-form/paper-form.njk', example));
    assert.deepEqual(scanTemplate('paper-form.njk', example), []);
    // A page written the old way (about-you was, before issue 22): the check sees its words.
    const english =
      '<h1 class="govuk-heading-l">Your details</h1>\n<p class="govuk-body">Update your ' +
      'details.</p>\n{{ govukInput({ label: { text: "First names" }, id: "first" }) }}\n{{ ' +
      'govukButton({ text: "Save changes" }) }}';
    assert.ok(scanTemplate('about-you.njk', english).length > 3, 'the check sees words where they are');
  });

  test('the features moved onto the kit and the layout are checked even where a template extends base.njk', () => {
    const planted =
      '{% extends "layouts/base.njk" %}\n{% block main_content %}<p class="govuk-body">You have ' +
      'been signed out</p>{% endblock %}';
    for (const path of [
      'src/features/sign-in/sign-out.njk',
      'src/features/feedback/feedback-thanks.njk',
      'src/features/user/about-you.njk',
      'src/views/layouts/base.njk',
      'src/views/fragments/footer.njk',
    ]) {
      assert.ok(onTheKit(path, planted), path);
    }
    assert.ok(!onTheKit('src/features/content/contact.njk', planted), 'not moved yet: a content page');
    assert.equal(scanTemplate('sign-out.njk', planted).length, 1);
    assert.equal(
      scanTemplate('footer.njk', '{{ govukFooter({ meta: { items: [{ href: paths.cookies, text: "Cookies" }] } }) }}')
        .length,
      1,
    );
  });
});

describe('TypeScript (ESLint rule lpa-words/words-from-catalogue)', () => {
  const PROBE = 'src/features/feedback/words-probe.form.ts';
  // A handler of a feature moved onto the kit (its routes file), and one of a feature not moved yet.
  const HANDLER = 'src/features/sign-in/words-probe-routes.ts';
  const NOT_MOVED = 'src/features/user/words-probe-routes.ts';
  let eslint: ESLint;
  before(() => {
    const probes = [PROBE, HANDLER, NOT_MOVED];
    eslint = new ESLint({
      cwd: ROOT,
      overrideConfigFile: `${ROOT}eslint.config.js`,
      overrideConfig: {
        files: probes,
        languageOptions: {
          parserOptions: { projectService: { allowDefaultProject: probes, defaultProject: 'tsconfig.json' } },
        },
      },
    });
  });
  async function words(code: string, filePath = PROBE): Promise<number> {
    const [result] = await eslint.lintText(code, { filePath });
    assert.ok(result);
    assert.deepEqual(
      result.messages.filter((m) => m.fatal === true),
      [],
    );
    return result.messages.filter((m) => m.ruleId === 'lpa-words/words-from-catalogue').length;
  }

  test('a planted label, message or flash in a declaration or handler fails', async () => {
    assert.equal(await words("export const field = { label: 'Full name' };\n"), 1);
    assert.equal(await words("export const messages = { required: 'Enter your full name' };\n"), 1);
    assert.equal(await words('export function flash(): string {\n  return `Thank you, we have it`;\n}\n'), 1);
    assert.equal(await words("export const title = 'Feedback';\n"), 1);
  });

  test('a planted message in the handler of a feature moved onto the kit fails', async () => {
    const code = "export const AUTH_MESSAGES = { locked: 'This user account has been locked.' };\n";
    assert.equal(await words(code, HANDLER), 1);
    assert.equal(await words(code, NOT_MOVED), 0, 'a feature not moved yet is not checked (about-you, until it moves)');
  });

  test('keys, Error messages, log lines and identifiers pass', async () => {
    assert.equal(
      await words(
        "export const field = { label: 'paperForm:fullName.label', macro: 'input', path: " + "'/request' };\n",
      ),
      0,
    );
    assert.equal(await words("export function f(): never {\n  throw new Error('form kit: no field here');\n}\n"), 0);
    assert.equal(
      await words(
        "import type { FastifyRequest } from 'fastify';\nexport function g(request: " +
          "FastifyRequest): void {\n  request.log.info({ form: 'x' }, 'form sent by a person');\n}\n",
      ),
      0,
    );
  });
});
