// Local ESLint rule lpa/words-from-catalogue (ADR 0030): in the form kit and the forms on it, a string a person would
// read is a catalogue key (`namespace:path.to.key`), never English. A string literal that reads as words (two words,
// or a capitalised word) is reported, unless it is a developer's: an Error's message, a log line, an import, a type.
const WORDS = /[A-Za-z]{2,}[ \t]+[A-Za-z]{2,}|^[A-Z][a-z]{2,}/;
const KEY = /^[a-z][\w-]*:[\w.-]+$/;
const LOGGER = new Set(['log', 'logger']);

function developerFacing(node) {
  for (let p = node.parent; p; p = p.parent) {
    if (p.type === 'ThrowStatement' || p.type.startsWith('TS')) return true;
    if (
      (p.type === 'NewExpression' || p.type === 'CallExpression') &&
      p.callee.type === 'Identifier' &&
      p.callee.name.endsWith('Error')
    )
      return true;
    if (p.type === 'CallExpression' && p.callee.type === 'MemberExpression') {
      const target = p.callee.object;
      const name =
        target.type === 'Identifier'
          ? target.name
          : target.type === 'MemberExpression' && target.property.type === 'Identifier'
            ? target.property.name
            : '';
      if (LOGGER.has(name)) return true;
    }
    if (
      p.type === 'ImportDeclaration' ||
      p.type === 'ExportAllDeclaration' ||
      (p.type === 'ExportNamedDeclaration' && p.source)
    )
      return true;
    if (p.type === 'Property' && p.key === node) return true;
  }
  return false;
}

const wordsFromCatalogue = {
  meta: {
    type: 'problem',
    docs: { description: 'User-facing words come from the message catalogue (ADR 0030).' },
    schema: [],
    messages: {
      words: 'User-facing text {{text}} belongs in the catalogue (src/i18n/locales/en/*.json); use its ' + 'key here.',
    },
  },
  create(context) {
    const check = (node, text) => {
      if (typeof text !== 'string' || KEY.test(text) || !WORDS.test(text) || developerFacing(node)) return;
      context.report({ node, messageId: 'words', data: { text: JSON.stringify(text.slice(0, 60)) } });
    };
    return {
      Literal(node) {
        check(node, node.value);
      },
      TemplateElement(node) {
        check(node, node.value.cooked);
      },
    };
  },
};

export default { meta: { name: 'lpa-words' }, rules: { 'words-from-catalogue': wordsFromCatalogue } };
