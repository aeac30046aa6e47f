// Local ESLint rules for the layers of docs/architecture.md (ADR 0029). Plain JavaScript, no dependency: each import's
// path is resolved against the importing file, so `../../features/x` and `../x` are judged alike.
//
//   lpa/layers    a module may import only the layers its own layer may (the table is passed in eslint.config.js).
//   lpa/outbound  only the modules named in the allow-list may open outbound connections: import a client API
//                 (node:http request, node:net connect, ioredis, ...) or call fetch/WebSocket/EventSource.
import { dirname, relative, resolve, sep } from 'node:path';

/** The layer of an absolute file path under `root` (the repository), or undefined outside src/. */
export function layerOf(root, file) {
  const rel = relative(root, file).split(sep).join('/');
  if (!rel.startsWith('src/')) return undefined;
  const [, first = '', second = ''] = rel.split('/');
  if (first === 'features')
    return second.endsWith('.ts') || second === '' || second.endsWith('.md') ? 'features' : `feature:${second}`;
  if (first.endsWith('.ts')) return first.slice(0, -3); // app, server, services, paths
  return first; // platform, backends, sessions, config, i18n, views
}

function importSources(context, check) {
  const literal = (node) => (node?.type === 'Literal' && typeof node.value === 'string' ? node.value : undefined);
  return {
    ImportDeclaration(node) {
      check(node, node.source.value, node.importKind === 'type', node.specifiers);
    },
    ExportNamedDeclaration(node) {
      if (node.source) check(node, node.source.value, node.exportKind === 'type', []);
    },
    ExportAllDeclaration(node) {
      check(node, node.source.value, node.exportKind === 'type', []);
    },
    ImportExpression(node) {
      const s = literal(node.source);
      if (s !== undefined) check(node, s, false, undefined);
    },
    'CallExpression[callee.name="require"]'(node) {
      const s = literal(node.arguments[0]);
      if (s !== undefined) check(node, s, false, undefined);
    },
  };
}

const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'A module imports only from the layers its layer may use (docs/architecture.md, ADR 0029).' },
    schema: [
      {
        type: 'object',
        properties: { root: { type: 'string' }, allow: { type: 'object' }, exceptions: { type: 'array' } },
        required: ['root', 'allow'],
      },
    ],
    messages: { forbidden: "{{from}} may not import {{to}} ('{{source}}'): {{why}}" },
  },
  create(context) {
    const { root, allow, exceptions = [] } = context.options[0];
    const file = relative(root, context.filename).split(sep).join('/');
    const from = layerOf(root, context.filename);
    if (from === undefined) return {};
    const own = from.startsWith('feature:') ? 'feature' : from;
    const allowed = allow[own];
    return importSources(context, (node, source) => {
      if (!source.startsWith('.')) return;
      const target = resolve(dirname(context.filename), source);
      const to = layerOf(root, target);
      if (to === undefined || to === from) return;
      const targetFile = relative(root, target).split(sep).join('/');
      if (exceptions.some((e) => e.from === file && e.to === targetFile)) return;
      const toLayer = to.startsWith('feature:') ? 'feature' : to;
      if (allowed?.includes(toLayer) === true && !(own === 'feature' && toLayer === 'feature')) return;
      const why =
        own === 'feature' && toLayer === 'feature'
          ? 'a feature never imports another feature; move what both need into platform/ or backends/'
          : allowed === undefined || allowed.length === 0
            ? `${own} imports nothing of the app`
            : `${own} may import only ${allowed.join(', ')}`;
      context.report({ node, messageId: 'forbidden', data: { from, to, source, why } });
    });
  },
};

/** Client APIs per module: any value import of these opens (or can open) an outbound connection. */
const CLIENT_MODULES = {
  http: {
    connection: 'http',
    safe: ['createServer', 'STATUS_CODES', 'METHODS', 'validateHeaderName', 'validateHeaderValue'],
  },
  https: { connection: 'http', safe: ['createServer'] },
  http2: { connection: 'http', safe: ['createServer', 'createSecureServer', 'constants'] },
  net: { connection: 'tcp', safe: ['isIP', 'isIPv4', 'isIPv6', 'BlockList', 'SocketAddress', 'createServer'] },
  tls: {
    connection: 'tcp',
    safe: ['createServer', 'createSecureContext', 'rootCertificates', 'DEFAULT_MIN_VERSION', 'DEFAULT_MAX_VERSION'],
  },
  dgram: { connection: 'udp', safe: [] },
  undici: { connection: 'http', safe: [] },
  ioredis: { connection: 'redis', safe: [] },
  '@aws-sdk': { connection: 's3', safe: [] }, // the AWS SDK's clients (S3 for uploads) open their own connections
};
const CLIENT_GLOBALS = { fetch: 'http', WebSocket: 'http', EventSource: 'http', XMLHttpRequest: 'http' };

const outbound = {
  meta: {
    type: 'problem',
    docs: { description: 'Only the named modules open outbound connections (ADR 0029, ADR 0010).' },
    schema: [
      {
        type: 'object',
        properties: { root: { type: 'string' }, owners: { type: 'object' } },
        required: ['root', 'owners'],
      },
    ],
    messages: {
      outbound:
        '{{what}} opens an outbound {{connection}} connection; only {{owners}} may ' +
        '(OUTBOUND_OWNERS in eslint.config.js).',
    },
  },
  create(context) {
    const { root, owners } = context.options[0];
    const file = relative(root, context.filename).split(sep).join('/');
    const mayOpen = (connection) => (owners[connection] ?? []).includes(file);
    const report = (node, what, connection) => {
      if (mayOpen(connection)) return;
      const named = owners[connection] ?? [];
      context.report({
        node,
        messageId: 'outbound',
        data: { what, connection, owners: named.length === 0 ? 'no module yet' : named.join(', ') },
      });
    };
    return {
      ...importSources(context, (node, source, typeOnly, specifiers) => {
        const name = source.replace(/^node:/, '').split('/')[0];
        const client = Object.hasOwn(CLIENT_MODULES, name) ? CLIENT_MODULES[name] : undefined;
        if (client === undefined || typeOnly) return;
        if (specifiers === undefined) {
          report(node, `import('${source}')`, client.connection);
          return;
        }
        for (const s of specifiers) {
          if (s.type === 'ImportSpecifier') {
            if (s.importKind === 'type' || client.safe.includes(s.imported.name ?? s.imported.value)) continue;
            report(s, `'${source}' (${s.local.name})`, client.connection);
            continue;
          }
          // `import net from 'node:net'`: fine while every use is a safe member (`net.isIP`, `net.BlockList`).
          for (const variable of context.sourceCode.getDeclaredVariables(s)) {
            for (const ref of variable.references) {
              const parent = ref.identifier.parent;
              const member =
                parent?.type === 'MemberExpression' && parent.object === ref.identifier && !parent.computed
                  ? parent.property.name
                  : undefined;
              if (member !== undefined && client.safe.includes(member)) continue;
              if (parent?.type?.startsWith('TS') === true) continue; // a type position (`net.Socket` as a type)
              report(
                ref.identifier,
                `'${source}' (${s.local.name}${member === undefined ? '' : `.${member}`})`,
                client.connection,
              );
            }
          }
        }
        if (specifiers.length === 0 && node.type !== 'ImportDeclaration')
          report(node, `'${source}'`, client.connection);
      }),
      Identifier(node) {
        if (!Object.hasOwn(CLIENT_GLOBALS, node.name)) return;
        const parent = node.parent;
        // A property named fetch (`api.fetch`, `{ fetch: ... }`) is not the global.
        if (parent?.type === 'MemberExpression' && parent.property === node && !parent.computed) {
          if (!(parent.object.type === 'Identifier' && parent.object.name === 'globalThis')) return;
        }
        if (parent?.type === 'Property' && parent.key === node && !parent.computed && parent.value !== node) return;
        if (parent?.type?.startsWith('TS') === true) return; // a type position
        const scope = context.sourceCode.getScope(node);
        let ref = scope;
        while (ref !== null) {
          const v = ref.set.get(node.name);
          if (v !== undefined && v.defs.length > 0) return; // a local of that name
          ref = ref.upper;
        }
        report(node, node.name, CLIENT_GLOBALS[node.name]);
      },
    };
  },
};

export default { meta: { name: 'lpa-layers' }, rules: { layers, outbound } };
