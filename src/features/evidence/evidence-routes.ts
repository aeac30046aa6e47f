/**
 * The evidence pages (issue 23, ADR 0040), signed in only (none is in PUBLIC_ROUTES):
 * - GET  /user/evidence             the person's files (name as given, size, status) and the upload form
 * - POST /user/evidence             multipart upload: `_csrf` first, then one or more `file` parts
 * - GET  /user/evidence/:id         download, only the person's own file and only when "Ready"
 * - POST /user/evidence/:id/delete  removes one of the person's own files
 * Another person's id, an unknown id and a file not ready all get the same 404.
 *
 * The upload is read by a content-type parser of this route only (the app's parser stays url-encoded only): fetch
 * metadata and Origin are checked before a byte is read, then the session's token must be the first part
 * (multipart.ts) before any file part is stored. The parser hands on `_csrf`, so the CSRF plugin's own check runs
 * too; it is not switched off. Each file part takes a slot of the per-user limit before it is stored (race-free,
 * evidence-files.ts), is checked as it streams (upload-pipeline.ts), then scanned by clamd before the answer.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EvidenceFile } from '../../backends/evidence-files.ts';
import { EVIDENCE_DELETE_ROUTE, EVIDENCE_FILE_ROUTE, PATHS, evidenceFilePath } from '../../paths.ts';
import type { SignedInUser } from '../../platform/auth-guard.ts';
import { CsrfError, crossSiteReason, tokensMatch } from '../../platform/csrf.ts';
import { sendErrorPage } from '../../platform/errors.ts';
import { pageContext, pageLanguage, setFlash } from '../../platform/forms/index.ts';
import { httpError } from '../../platform/http-error.ts';
import type { Rejection } from '../../platform/uploads/file-checks.ts';
import { displayName, nameProblem } from '../../platform/uploads/file-name.ts';
import { MultipartError, readUpload } from '../../platform/uploads/multipart.ts';
import type { MultipartProblem, UploadedPart } from '../../platform/uploads/multipart.ts';
import { receiveFile } from '../../platform/uploads/upload-pipeline.ts';
import { SESSION_KEYS } from '../../sessions/session-store.ts';
import type { EvidenceService } from './evidence-service.ts';

export interface EvidenceLimits {
  readonly maxFileBytes: number;
  readonly maxFilesPerUser: number;
  readonly maxImagePixels: number;
  readonly timeoutMs: number;
  readonly minBytesPerSecond: number;
  readonly rateWindowMs: number;
  readonly retentionDays: number;
}

export interface EvidenceRoutesOptions {
  readonly service: EvidenceService;
  /** config.acceptedOrigins: the Origin check, made before the body is read. */
  readonly publicOrigin: string | readonly string[];
  /** SESSION_SECRET: keys the user hash in audit lines. */
  readonly auditSecret: Buffer;
  readonly limits: EvidenceLimits;
  readonly now?: () => number;
}

type Refusal = Rejection | 'limit' | 'none' | 'name' | 'virus' | 'scan-error';

type FileOutcome =
  | { readonly ok: true; readonly file: EvidenceFile }
  | { readonly ok: false; readonly reason: Refusal; readonly displayName: string };

/** What the parser hands on: `_csrf` for the CSRF plugin's check, and what became of each file. */
interface UploadBody {
  readonly _csrf: string;
  readonly outcomes: readonly FileOutcome[];
  readonly problem: MultipartProblem | 'unavailable' | undefined;
  /** The file being read when the problem came (a name to put in the message). */
  readonly problemFile?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MIB = 1024 * 1024;

function signedInUser(request: FastifyRequest): SignedInUser {
  if (request.user === undefined) throw httpError(401, 'signed-in route reached without a user');
  return request.user;
}

/** RFC 6266: an ASCII fallback name, and the real one percent-encoded as UTF-8 in `filename*`. */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

function mib(bytes: number): string {
  return (Math.ceil((bytes / MIB) * 10) / 10).toFixed(1);
}

export default async function evidenceRoutes(app: FastifyInstance, options: EvidenceRoutesOptions): Promise<void> {
  const { service, limits } = options;
  const now = options.now ?? Date.now;
  const hashKey = Buffer.from(
    hkdfSync('sha256', options.auditSecret, Buffer.alloc(0), 'lpa-front-audit-evidence-user-v1', 32),
  );
  const userHash = (userId: string): string =>
    createHmac('sha256', hashKey).update(userId, 'utf8').digest('hex').slice(0, 32);
  const checkLimits = { maxBytes: limits.maxFileBytes, maxImagePixels: limits.maxImagePixels };
  const words = {
    max: limits.maxFilesPerUser,
    maxMiB: mib(limits.maxFileBytes),
    maxPixels: limits.maxImagePixels,
    days: limits.retentionDays,
  };

  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    errors: readonly { text: string; href: string }[],
    status: number,
  ): Promise<FastifyReply> {
    const user = signedInUser(request);
    const language = pageLanguage(request, reply, app.words);
    const { t } = language;
    const files = (await service.files.list(user.userId)).map((f) => ({
      id: f.id,
      name: f.displayName,
      size: f.bytes === null ? '' : t('evidence:size', { size: mib(f.bytes) }),
      status: f.status,
      href: evidenceFilePath(f.id),
      deleteAction: `${evidenceFilePath(f.id)}/delete`,
      reason:
        f.status === 'rejected'
          ? t(`evidence:rejectedBecause.${f.reason === 'virus' || f.reason === 'scan-error' ? f.reason : 'default'}`)
          : undefined,
    }));
    const held = files.filter((f) => f.status !== 'rejected').length;
    return reply.view(
      'evidence/evidence.njk',
      {
        ...pageContext(request, language),
        pageTitle: t('evidence:title'),
        words,
        files,
        errors: errors.length > 0 ? errors : undefined,
        fileError: errors[0]?.text,
        available: service.clamd.configured,
        full: held >= limits.maxFilesPerUser,
        action: PATHS.evidence,
      },
      status,
    );
  }

  // The rescan queue runs while the app does (every UPLOAD_SCAN_INTERVAL_MS, first at start).
  app.addHook('onReady', async () => {
    service.start();
  });
  app.addHook('onClose', async () => {
    await service.stop();
  });

  app.get(PATHS.evidence, async (request, reply) => render(request, reply, [], 200));

  await app.register(async (scope) => {
    scope.addContentTypeParser(
      'multipart/form-data',
      async (request: FastifyRequest, payload: Readable): Promise<UploadBody> => receive(request, payload),
    );
    scope.post(PATHS.evidence, async (request, reply) => {
      const user = signedInUser(request);
      const body = request.body as Partial<UploadBody> | null;
      const language = pageLanguage(request, reply, app.words);
      const { t } = language;
      // A url-encoded POST (the app-wide parser) carries a token but no files: never an upload.
      if (body === null || !Array.isArray(body.outcomes))
        return render(request, reply, [{ text: t('evidence:errors.none'), href: '#file' }], 400);
      const errorFor = (reason: Refusal, name: string): string =>
        t(`evidence:errors.${reason.startsWith('pdf-') ? 'pdf' : reason}`, { ...words, name });
      const outcomes: readonly FileOutcome[] = body.outcomes;
      if (body.problem !== undefined) {
        // A sender cut off as too slow may still be trickling: the page, then the connection closes (Node does not
        // read the rest of a body it never consumed on a connection that is closing).
        if (body.problem === 'timeout' || body.problem === 'too-slow') reply.header('connection', 'close');
        const key =
          body.problem === 'unavailable'
            ? 'unavailable'
            : body.problem === 'too-many-files'
              ? 'too-many-files'
              : body.problem === 'file-too-large'
                ? 'too-large'
                : body.problem === 'timeout' || body.problem === 'too-slow'
                  ? 'slow'
                  : 'request';
        return render(
          request,
          reply,
          [{ text: t(`evidence:errors.${key}`, { ...words, name: body.problemFile ?? '' }), href: '#file' }],
          body.problem === 'unavailable' ? 503 : 400,
        );
      }
      const errors: { text: string; href: string }[] = [];
      const refused = outcomes.filter((o) => !o.ok);
      if (outcomes.length === 0 || (refused.length === outcomes.length && refused.every((o) => o.reason === 'none'))) {
        return render(request, reply, [{ text: t('evidence:errors.none'), href: '#file' }], 400);
      }
      for (const o of outcomes) {
        if (!o.ok) {
          if (o.reason !== 'none') errors.push({ text: errorFor(o.reason, o.displayName), href: '#file' });
          continue;
        }
        // Scanned before the answer, so a virus is refused on this page; clamd down leaves the file "Checking".
        const outcome = await service.scan(o.file);
        if (outcome === 'rejected') {
          const after = await service.files.byId(o.file.id);
          errors.push({
            text: errorFor(after?.reason === 'virus' ? 'virus' : 'scan-error', o.file.displayName),
            href: '#file',
          });
          // Refused here and said so: nothing kept (the audit line is the record).
          await service.files.release(o.file.id);
        }
      }
      request.log.debug(
        { files: outcomes.length, refused: errors.length, userHash: userHash(user.userId) },
        'evidence upload handled',
      );
      if (errors.length > 0) return render(request, reply, errors, 400);
      setFlash(request, 'evidence:uploaded');
      return reply.redirect(PATHS.evidence, 303);
    });
  });

  /** Reads the multipart body: checks first, then each file into storage under a reserved slot. */
  async function receive(request: FastifyRequest, payload: Readable): Promise<UploadBody> {
    const origin = request.headers.origin;
    const site = request.headers['sec-fetch-site'];
    if (
      crossSiteReason(
        typeof site === 'string' ? site : undefined,
        typeof origin === 'string' ? origin : undefined,
        options.publicOrigin,
      )
    )
      throw new CsrfError('cross-site');
    const user = signedInUser(request);
    const session = request.session;
    const expected = session === null || session.isNew ? undefined : session.get(SESSION_KEYS.csrf);
    if (typeof expected !== 'string') throw new CsrfError('expired');
    const hash = userHash(user.userId);
    let token = '';
    const csrf = { passed: false };
    let current = '';
    const available = service.clamd.configured;

    const onFile = async (part: UploadedPart): Promise<FileOutcome> => {
      const name = displayName(part.filename);
      current = name;
      const drain = async (reason: Refusal): Promise<FileOutcome> => {
        const it = part.source[Symbol.asyncIterator]();
        while ((await it.next()).done !== true) {
          /* dropped */
        }
        return { ok: false, reason, displayName: name };
      };
      if (!available) return drain('none');
      if (part.filename === '') return drain('none'); // the file input left empty
      if (nameProblem(part.filename) !== undefined) {
        service.audit(request.log, 'evidence.upload.refused', {
          userHash: hash,
          reason: `name-${nameProblem(part.filename) ?? ''}`,
        });
        return drain('name');
      }
      const id = await service.files.reserve(user.userId, hash, name, limits.maxFilesPerUser, now());
      if (id === undefined) return drain('limit');
      try {
        const received = await receiveFile(part, { storage: service.storage, limits: checkLimits });
        if (!received.ok) {
          await service.files.release(id);
          service.audit(request.log, 'evidence.upload.refused', { userHash: hash, reason: received.reason });
          return { ok: false, reason: received.reason, displayName: received.displayName };
        }
        await service.files.stored(id, received.file.key, received.file.mediaType, received.file.bytes);
        service.audit(request.log, 'evidence.upload.accepted', {
          userHash: hash,
          fileId: id,
          mediaType: received.file.mediaType,
          bytes: received.file.bytes,
        });
        const file = await service.files.byId(id);
        if (file === undefined) throw new Error('evidence row vanished');
        return { ok: true, file };
      } catch (err) {
        await service.files.release(id);
        throw err;
      }
    };

    try {
      const outcomes = await readUpload<FileOutcome>({
        headers: request.headers,
        body: payload,
        limits: {
          maxFileBytes: limits.maxFileBytes,
          maxFiles: limits.maxFilesPerUser,
          maxTotalBytes: limits.maxFilesPerUser * (limits.maxFileBytes + 64 * 1024),
          timeoutMs: limits.timeoutMs,
          minBytesPerSecond: limits.minBytesPerSecond,
          rateWindowMs: limits.rateWindowMs,
        },
        fileField: 'file',
        checkCsrf: (given) => {
          if (!tokensMatch(given, expected)) return false;
          token = given;
          csrf.passed = true;
          return true;
        },
        onFile,
      });
      return { _csrf: token, outcomes, problem: available ? undefined : 'unavailable' };
    } catch (err) {
      if (!(err instanceof MultipartError)) throw err;
      // A refused request keeps nothing: every file already stored goes.
      for (const done of err.completed as FileOutcome[]) if (done.ok) await service.remove(done.file);
      if (!csrf.passed) throw new CsrfError(err.problem === 'csrf-invalid' ? 'mismatch' : 'missing');
      if (err.problem === 'aborted' && err.cause !== undefined) throw err.cause instanceof Error ? err.cause : err;
      service.audit(request.log, 'evidence.upload.refused', { userHash: hash, reason: err.problem });
      return { _csrf: token, outcomes: [], problem: err.problem, problemFile: current };
    }
  }

  /** The person's own file; anyone else's id, an unknown one or a malformed one: the same 404. */
  async function ownFile(request: FastifyRequest): Promise<EvidenceFile | undefined> {
    const user = signedInUser(request);
    const id = (request.params as Record<string, unknown>).id;
    if (typeof id !== 'string' || !UUID.test(id)) return undefined;
    return service.files.get(user.userId, id);
  }

  app.get(EVIDENCE_FILE_ROUTE, async (request, reply) => {
    const file = await ownFile(request);
    if (file?.status !== 'ready' || file.storageKey === null || file.mediaType === null)
      return sendErrorPage(request, reply, 404);
    const stream = await service.storage.get(file.storageKey);
    if (stream === undefined) return sendErrorPage(request, reply, 404);
    service.audit(request.log, 'evidence.download', { userHash: file.userHash, fileId: file.id });
    return reply
      .header('content-type', file.mediaType)
      .header('content-disposition', contentDisposition(file.displayName))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .header('cache-control', 'no-store')
      .send(stream);
  });

  app.post(EVIDENCE_DELETE_ROUTE, async (request, reply) => {
    const file = await ownFile(request);
    if (file === undefined) return sendErrorPage(request, reply, 404);
    await service.remove(file);
    service.audit(request.log, 'evidence.delete', { userHash: file.userHash, fileId: file.id });
    setFlash(request, 'evidence:deleted');
    return reply.redirect(PATHS.evidence, 303);
  });
}
