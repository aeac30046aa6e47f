// Gate: GitHub Actions workflows pin actions by SHA, set least-privilege permissions and avoid
// pull_request_target. The real files must pass; planted bad workflows must fail.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { checkWorkflow, checkWorkflowDir } from '../../scripts/check-workflows.ts';

const WORKFLOWS = fileURLToPath(new URL('../../.github/workflows/', import.meta.url));
const SHA = '08c6903cd8c0fde910a37f88322edcfb5dd907a8';

/** A small workflow that passes every rule; each planted case changes one thing. */
const GOOD = `
name: good
on: [push, pull_request]
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-24.04
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@${SHA} # v5.0.0
      - uses: ./.github/actions/local
      - run: npm test
`;

describe('the repository workflows', () => {
  test('ci.yml and codeql.yml exist and pass every rule', async () => {
    const { files, problems } = await checkWorkflowDir(WORKFLOWS);
    assert.ok(files.includes('ci.yml') && files.includes('codeql.yml'), files.join());
    assert.deepEqual(problems, []);
  });
});

describe('checkWorkflow', () => {
  test('the reference workflow passes', () => {
    assert.deepEqual(checkWorkflow('good.yml', GOOD), []);
  });

  const planted: readonly [string, string, RegExp][] = [
    [
      'an action pinned by tag',
      GOOD.replace(`@${SHA} # v5.0.0`, '@v5 # v5'),
      /must be pinned to a full 40-character commit SHA/,
    ],
    ['an action pinned by branch', GOOD.replace(`@${SHA}`, '@main'), /must be pinned/],
    ['a short SHA', GOOD.replace(`@${SHA}`, '@08c6903'), /must be pinned/],
    ['a pinned action without its version comment', GOOD.replace(' # v5.0.0', ''), /add the version as a comment/],
    [
      'a docker action by tag',
      GOOD.replace('- run: npm test', '- uses: docker://alpine:3 # v3'),
      /must be pinned by @sha256 digest/,
    ],
    [
      'a reusable workflow by tag',
      `${GOOD}  reuse:\n    permissions:\n      contents: read\n    uses: ` +
        `org/repo/.github/workflows/x.yml@v1 # v1\n`,
      /jobs\.reuse: .* must be pinned/,
    ],
    [
      'no workflow permissions',
      GOOD.replace('permissions:\n  contents: read\njobs', 'jobs'),
      /workflow: set permissions/,
    ],
    [
      'no job permissions',
      GOOD.replace('    permissions:\n      contents: read\n    steps', '    steps'),
      /jobs\.build: set permissions/,
    ],
    ['write-all', GOOD.replace('permissions:\n  contents: read\njobs', 'permissions: write-all\njobs'), /too broad/],
    [
      'a workflow-level write',
      GOOD.replace('permissions:\n  contents: read\njobs', 'permissions:\n  contents: write\njobs'),
      /workflow: permissions\.contents: write is not allowed/,
    ],
    [
      'a job writing contents',
      GOOD.replace('      contents: read\n    steps', '      contents: write\n    steps'),
      /jobs\.build: permissions\.contents: write/,
    ],
    [
      'pull_request_target checking out the PR head',
      GOOD.replace('on: [push, pull_request]', 'on: pull_request_target').replace(
        ' # v5.0.0',
        ' # v5.0.0\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}',
      ),
      /checks out untrusted pull request code/,
    ],
    [
      'pull_request_target at all',
      GOOD.replace('on: [push, pull_request]', 'on:\n  pull_request_target:\n    types: [opened]'),
      /pull_request_target runs fork code/,
    ],
    [
      'untrusted text in run:',
      GOOD.replace('- run: npm test', '- run: echo "${{ github.event.pull_request.title }}"'),
      /untrusted event text/,
    ],
    ['not YAML', 'jobs: [unclosed', /not valid YAML/],
  ];
  for (const [name, workflow, expected] of planted) {
    test(`planted: ${name} is rejected`, () => {
      const problems = checkWorkflow('bad.yml', workflow);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected ${String(expected)} in:\n${problems.join('\n')}`,
      );
    });
  }

  test('job-level security-events: write (CodeQL upload) is allowed', () => {
    const workflow = GOOD.replace(
      '      contents: read\n    steps',
      '      contents: read\n      security-events: write\n    steps',
    );
    assert.deepEqual(checkWorkflow('codeql.yml', workflow), []);
  });
});
