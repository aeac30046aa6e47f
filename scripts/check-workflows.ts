// CI/CD integrity gate (ADR 0008 A08): checks GitHub Actions workflow files for the rules that keep the
// pipeline from running someone else's code with our credentials.
//   1. every `uses:` is pinned to a full 40-hex commit SHA (tags and branches can be moved), with a
//      `# vX.Y.Z` comment so that people and Renovate can read the version; local `./` actions are fine;
//   2. `permissions:` is set at workflow level with nothing above read, and again on every job; only the
//      scopes in ALLOWED_JOB_WRITES may be written, and never `write-all`;
//   3. no `pull_request_target` (it runs with a write token and secrets on code from forks), and no checkout
//      of a pull request's head under it or `workflow_run`;
//   4. no untrusted event text (`github.event.*.title`, `head_ref`, ...) expanded inside `run:` scripts.
// Used by test/supply-chain/workflows.test.ts; run alone with `node scripts/check-workflows.ts`.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { load as loadYaml } from 'js-yaml';

/** Scopes a job may write. CodeQL uploads its results through security-events. */
export const ALLOWED_JOB_WRITES: readonly string[] = ['security-events'];

/** owner/repo[/path]@<40 hex>. */
const SHA_PIN = /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/;
const UNTRUSTED_CONTEXT =
  /\$\{\{\s*(?:github\.event\.(?:issue|pull_request|comment|review|review_comment|discussion|head_commit|commits|pages)\b[^}]*|github\.head_ref\b[^}]*)\}\}/;
const PR_HEAD_REF =
  /github\.event\.pull_request\.head\.|github\.head_ref|refs\/pull\/|github\.event\.workflow_run\.head_/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function triggers(on: unknown): string[] {
  if (typeof on === 'string') return [on];
  if (Array.isArray(on)) return on.filter((t): t is string => typeof t === 'string');
  if (isObject(on)) return Object.keys(on);
  return [];
}

/** Problems with one `permissions:` value; `where` labels the messages. */
function checkPermissions(value: unknown, where: string, allowedWrites: readonly string[]): string[] {
  if (value === undefined) return [`${where}: set permissions: explicitly (least privilege)`];
  if (typeof value === 'string') {
    return value === 'read-all' && where === 'workflow'
      ? ['workflow: use per-scope permissions (contents: read), not read-all']
      : value === 'read-all' || value === 'write-all'
        ? [`${where}: permissions: ${value} is too broad; list the scopes`]
        : [`${where}: unknown permissions value "${value}"`];
  }
  if (!isObject(value)) return [`${where}: permissions must be a mapping of scope: level`];
  const problems: string[] = [];
  for (const [scope, level] of Object.entries(value)) {
    if (level !== 'read' && level !== 'write' && level !== 'none') {
      problems.push(`${where}: permissions.${scope} has unknown level "${String(level)}"`);
    } else if (level === 'write' && !allowedWrites.includes(scope)) {
      problems.push(`${where}: permissions.${scope}: write is not allowed here`);
    }
  }
  return problems;
}

function steps(job: Json): Json[] {
  return Array.isArray(job.steps) ? job.steps.filter(isObject) : [];
}

/** Checks one workflow file's text. Returns human-readable problems; an empty list means it passes. */
export function checkWorkflow(name: string, text: string): string[] {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = loadYaml(text);
  } catch (error) {
    return [`${name}: not valid YAML: ${error instanceof Error ? error.message : String(error)}`];
  }
  if (!isObject(doc)) return [`${name}: not a workflow (expected a mapping)`];
  const jobs = isObject(doc.jobs) ? doc.jobs : {};
  if (Object.keys(jobs).length === 0) problems.push(`${name}: no jobs`);

  // 1. Pinned actions, in the parsed document (job-level `uses:` calls reusable workflows).
  const uses: { where: string; ref: string }[] = [];
  for (const [jobName, job] of Object.entries(jobs)) {
    if (!isObject(job)) continue;
    if (typeof job.uses === 'string') uses.push({ where: `jobs.${jobName}`, ref: job.uses });
    steps(job).forEach((step, index) => {
      if (typeof step.uses === 'string') uses.push({ where: `jobs.${jobName}.steps[${index}]`, ref: step.uses });
    });
  }
  for (const { where, ref } of uses) {
    if (ref.startsWith('./')) continue;
    if (ref.startsWith('docker://')) {
      if (!/@sha256:[0-9a-f]{64}$/.test(ref))
        problems.push(`${name}: ${where}: docker action "${ref}" must be pinned by @sha256 digest`);
      continue;
    }
    if (!SHA_PIN.test(ref))
      problems.push(`${name}: ${where}: "${ref}" must be pinned to a full 40-character commit SHA`);
  }
  // ...and in the raw text, each pinned `uses:` line carries its version as a comment.
  text.split(/\r?\n/).forEach((line, index) => {
    const match = /^[\s-]*uses:\s*(\S+)(.*)$/.exec(line);
    if (match?.[1] === undefined || match[1].startsWith('./')) return;
    if (!/#\s*v\d/.test(match[2] ?? '')) {
      problems.push(`${name}:${index + 1}: add the version as a comment after the SHA, e.g. "# v4.2.2"`);
    }
  });

  // 2. Permissions.
  problems.push(...checkPermissions(doc.permissions, 'workflow', []).map((p) => `${name}: ${p}`));
  for (const [jobName, job] of Object.entries(jobs)) {
    if (!isObject(job)) continue;
    problems.push(
      ...checkPermissions(job.permissions, `jobs.${jobName}`, ALLOWED_JOB_WRITES).map((p) => `${name}: ${p}`),
    );
  }

  // 3. Untrusted triggers.
  const on = triggers(doc.on);
  if (on.includes('pull_request_target')) {
    problems.push(`${name}: pull_request_target runs fork code with secrets and a write token; use pull_request`);
  }
  if (on.includes('pull_request_target') || on.includes('workflow_run')) {
    for (const [jobName, job] of Object.entries(jobs)) {
      if (!isObject(job)) continue;
      for (const step of steps(job)) {
        const ref = isObject(step.with) ? step.with.ref : undefined;
        if (
          typeof step.uses === 'string' &&
          step.uses.startsWith('actions/checkout@') &&
          typeof ref === 'string' &&
          PR_HEAD_REF.test(ref)
        ) {
          problems.push(
            `${name}: jobs.${jobName}: checks out untrusted pull request code (${ref}) in a ` + `privileged workflow`,
          );
        }
      }
    }
  }

  // 4. Script injection through expressions in run: blocks.
  for (const [jobName, job] of Object.entries(jobs)) {
    if (!isObject(job)) continue;
    steps(job).forEach((step, index) => {
      if (typeof step.run === 'string' && UNTRUSTED_CONTEXT.test(step.run)) {
        problems.push(
          `${name}: jobs.${jobName}.steps[${index}]: untrusted event text expanded in run:; pass it ` +
            `through env: instead`,
        );
      }
    });
  }
  return problems;
}

/** Checks every *.yml / *.yaml under `dir` (default .github/workflows). */
export async function checkWorkflowDir(dir: string): Promise<{ files: string[]; problems: string[] }> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const problems: string[] = [];
  for (const file of files) problems.push(...checkWorkflow(file, await readFile(join(dir, file), 'utf8')));
  return { files, problems };
}

async function main(): Promise<number> {
  const dir = fileURLToPath(new URL('../.github/workflows/', import.meta.url));
  const { files, problems } = await checkWorkflowDir(dir);
  if (files.length === 0) {
    console.error('check-workflows: no workflow files found');
    return 1;
  }
  for (const p of problems) console.error(p);
  if (problems.length > 0) return 1;
  console.log(`check-workflows: ${files.length} workflow(s) pass: ${files.join(', ')}`);
  return 0;
}

if (import.meta.main) {
  process.exitCode = await main();
}
