/**
 * The LPA API contract (docs/api/lpa-api.openapi.yaml) as a test tool: the document itself is checked against
 * the OpenAPI 3.1 schema (@seriousme/openapi-schema-validator), then every request and answer is checked against
 * it with Ajv's JSON Schema 2020-12 (the dialect of OpenAPI 3.1 schemas). `contractFakeApi` is a fake LPA API on
 * loopback that checks both directions of every exchange, so neither the client nor the fake can drift.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Validator } from '@seriousme/openapi-schema-validator';

export const CONTRACT_FILE = join(import.meta.dirname, '..', '..', 'docs', 'api', 'lpa-api.openapi.yaml');
const DOC_ID = 'https://lpa-front.invalid/lpa-api.json';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

type Json = Record<string, unknown>;

function obj(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

/** JSON Pointer escaping of one segment. */
function esc(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export interface ContractRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Parsed JSON body; undefined when there was none. */
  readonly body: unknown;
}

export interface ContractResponse {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

interface Operation {
  readonly template: string;
  readonly method: string;
  readonly regex: RegExp;
  readonly pointer: string;
  readonly op: Json;
  /** Each parameter, resolved, with the JSON Pointer of its schema in the document. */
  readonly parameters: { readonly param: Json; readonly schemaPointer: string }[];
}

export interface Contract {
  /** Violations of the request (empty: conforms); the operation id when one matched. */
  checkRequest(req: ContractRequest): { operationId: string | undefined; errors: string[] };
  checkResponse(req: Pick<ContractRequest, 'method' | 'url'>, res: ContractResponse): string[];
  /** Operation ids exercised so far (to show a test covered what it claims). */
  readonly seen: Set<string>;
}

let cached: { doc: Json; ajv: Ajv2020; ops: Operation[] } | undefined;

/** Loads, checks the document against the OpenAPI 3.1 schema (throws if it is not valid), compiles. */
export async function loadContract(): Promise<Contract> {
  if (cached === undefined) {
    const doc = obj(load(readFileSync(CONTRACT_FILE, 'utf8')));
    const validator = new Validator();
    const result = await validator.validate(doc);
    if (!result.valid)
      throw new Error(`docs/api/lpa-api.openapi.yaml is not valid OpenAPI 3.1: ${JSON.stringify(result.errors)}`);
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const addFormats = addFormatsModule as unknown as (a: Ajv2020) => void;
    addFormats(ajv);
    ajv.addSchema({ ...doc, $id: DOC_ID });
    const ops: Operation[] = [];
    for (const [template, item] of Object.entries(obj(doc.paths))) {
      const pathItem = obj(item);
      for (const method of METHODS) {
        if (pathItem[method] === undefined) continue;
        const op = obj(pathItem[method]);
        const listed = (list: unknown, at: string) =>
          (Array.isArray(list) ? list : []).map((p: unknown, i) => {
            const ref = obj(p).$ref;
            return {
              param: resolve(doc, obj(p)),
              schemaPointer: typeof ref === 'string' ? `${ref}/schema` : `${at}/parameters/${String(i)}/schema`,
            };
          });
        const params = [
          ...listed(pathItem.parameters, `#/paths/${esc(template)}`),
          ...listed(op.parameters, `#/paths/${esc(template)}/${method}`),
        ];
        const pattern = template
          .split('/')
          .map((s) => (s.startsWith('{') ? '([^/]+)' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('/');
        ops.push({
          template,
          method: method.toUpperCase(),
          // eslint-disable-next-line security/detect-non-literal-regexp -- the committed contract's paths, escaped
          regex: new RegExp(`^${pattern}$`),
          pointer: `#/paths/${esc(template)}/${method}`,
          op,
          parameters: params,
        });
      }
    }
    cached = { doc, ajv, ops };
  }
  const { doc, ajv, ops } = cached;
  const compiled = new Map<string, ValidateFunction>();
  const seen = new Set<string>();

  function validatorAt(pointer: string): ValidateFunction {
    let v = compiled.get(pointer);
    if (v === undefined) {
      v = ajv.compile({ $ref: `${DOC_ID}${pointer}` });
      compiled.set(pointer, v);
    }
    return v;
  }

  function check(pointer: string, value: unknown, what: string): string[] {
    const v = validatorAt(pointer);
    if (v(value)) return [];
    return (v.errors ?? []).map((e) => `${what}${e.instancePath} ${e.message ?? 'is invalid'}`);
  }

  function find(
    method: string,
    url: string,
  ): { op: Operation; match: RegExpExecArray; query: URLSearchParams } | undefined {
    const u = new URL(url, 'http://x');
    for (const op of ops) {
      if (op.method !== method.toUpperCase()) continue;
      const match = op.regex.exec(u.pathname);
      if (match !== null) return { op, match, query: u.searchParams };
    }
    return undefined;
  }

  return {
    seen,
    checkRequest(req) {
      const found = find(req.method, req.url);
      if (found === undefined)
        return {
          operationId: undefined,
          errors: [`${req.method} ${req.url.split('?')[0] ?? ''} is not in the contract`],
        };
      const { op, match, query } = found;
      const operationId = typeof op.op.operationId === 'string' ? op.op.operationId : undefined;
      if (operationId !== undefined) seen.add(operationId);
      const errors: string[] = [];
      const names = [...op.template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
      for (const { param: p, schemaPointer } of op.parameters) {
        const name = String(p.name);
        let value: unknown;
        if (p.in === 'path') value = decodeURIComponent(match[names.indexOf(name) + 1] ?? '');
        else if (p.in === 'query') value = query.get(name) ?? undefined;
        else if (p.in === 'header') {
          const h = req.headers[name.toLowerCase()];
          value = Array.isArray(h) ? h.join(',') : h;
        }
        if (value === undefined) {
          if (p.required === true) errors.push(`${String(p.in)} parameter ${name} is required`);
          continue;
        }
        // Query values arrive as text; whole numbers are checked as numbers, as the API's is_numeric reads them.
        if (p.in === 'query' && obj(p.schema).type === 'integer' && typeof value === 'string' && /^-?\d+$/.test(value))
          value = Number(value);
        errors.push(...check(schemaPointer, value, `${String(p.in)} ${name}`));
      }
      const body = obj(op.op.requestBody);
      if (Object.keys(body).length === 0) {
        if (req.body !== undefined) errors.push('a body was sent to an operation that takes none');
      } else if (req.body === undefined) {
        if (body.required === true) errors.push('the request body is required');
      } else {
        const ct =
          String(req.headers['content-type'] ?? '')
            .split(';')[0]
            ?.trim() ?? '';
        if (obj(body.content)[ct] === undefined) errors.push(`content-type ${ct} is not accepted`);
        else errors.push(...check(`${op.pointer}/requestBody/content/${esc(ct)}/schema`, req.body, 'body'));
      }
      return { operationId, errors };
    },
    checkResponse(req, res) {
      const found = find(req.method, req.url);
      if (found === undefined) return [`${req.method} ${req.url} is not in the contract`];
      const responses = obj(found.op.op.responses);
      const key =
        responses[String(res.status)] !== undefined
          ? String(res.status)
          : responses.default !== undefined
            ? 'default'
            : undefined;
      if (key === undefined) return [`status ${String(res.status)} is not a documented answer`];
      let response = obj(responses[key]);
      let pointer = `${found.op.pointer}/responses/${key}`;
      if (typeof response.$ref === 'string') {
        pointer = response.$ref;
        response = resolve(doc, response);
      }
      const content = obj(response.content);
      if (Object.keys(content).length === 0)
        return res.body === undefined ? [] : [`status ${String(res.status)} has no body in the contract`];
      const ct = (res.contentType ?? '').split(';')[0]?.trim() ?? '';
      if (content[ct] === undefined) return [`content-type ${ct} is not documented for ${String(res.status)}`];
      return check(`${pointer}/content/${esc(ct)}/schema`, res.body, 'response');
    },
  };
}

function resolve(doc: Json, value: Json): Json {
  if (typeof value.$ref !== 'string') return value;
  let node: unknown = doc;
  for (const part of value.$ref.replace(/^#\//, '').split('/'))
    node = obj(node)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return obj(node);
}

export interface FakeRequest extends ContractRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly operationId: string | undefined;
}

export interface FakeAnswer {
  readonly status: number;
  readonly body?: unknown;
  /** Default: application/problem+json for 4xx/5xx with a body, else application/json. */
  readonly contentType?: string;
  /** Answer after this long (ms), to imitate a slow API. */
  readonly delayMs?: number;
}

export interface ContractFakeApi {
  readonly origin: string;
  readonly contract: Contract;
  /** Every exchange, in order. */
  readonly calls: { request: FakeRequest; answer: FakeAnswer }[];
  /** Contract violations by either side; a test asserts this stays empty. */
  readonly violations: string[];
  /** TCP connections accepted so far (a client that keeps its connections alive opens few). */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A fake LPA API on 127.0.0.1. Each request is checked against the contract before `handler` sees it (a
 * non-conforming request is answered 400 and recorded), and each answer is checked before it is sent.
 */
export async function contractFakeApi(
  handler: (req: FakeRequest) => FakeAnswer | Promise<FakeAnswer>,
): Promise<ContractFakeApi> {
  const contract = await loadContract();
  const calls: { request: FakeRequest; answer: FakeAnswer }[] = [];
  const violations: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text === '' ? undefined : (JSON.parse(text) as unknown);
        } catch {
          body = text;
        }
        const url = req.url ?? '/';
        const method = req.method ?? 'GET';
        const checked = contract.checkRequest({ method, url, headers: req.headers, body });
        const u = new URL(url, 'http://x');
        const request: FakeRequest = {
          method,
          url,
          headers: req.headers,
          body,
          path: u.pathname,
          query: u.searchParams,
          operationId: checked.operationId,
        };
        let answer: FakeAnswer;
        if (checked.errors.length > 0) {
          violations.push(...checked.errors.map((e) => `request ${method} ${u.pathname}: ${e}`));
          answer = { status: 400, body: { detail: 'request does not conform to the contract' } };
        } else {
          answer = await handler(request);
        }
        const contentType =
          answer.body === undefined
            ? undefined
            : (answer.contentType ?? (answer.status >= 400 ? 'application/problem+json' : 'application/json'));
        if (checked.errors.length === 0) {
          violations.push(
            ...contract
              .checkResponse({ method, url }, { status: answer.status, contentType, body: answer.body })
              .map((e) => `answer to ${method} ${u.pathname} (${String(answer.status)}): ${e}`),
          );
        }
        calls.push({ request, answer });
        if (answer.delayMs !== undefined) await new Promise((r) => setTimeout(r, answer.delayMs));
        res.writeHead(answer.status, contentType === undefined ? {} : { 'content-type': contentType });
        res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
      })();
    });
  });
  let connections = 0;
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  return {
    origin,
    contract,
    calls,
    violations,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => {
          r();
        });
      }),
  };
}
