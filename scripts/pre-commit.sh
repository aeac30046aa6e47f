#!/bin/sh
# Git pre-commit hook (installed by `npm install` through simple-git-hooks; see package.json "prepare").
# ADR 0008 A02: stop secrets before they enter history. It checks what is being committed, which is the
# staged blob (the index), not the working tree: a secret removed from the file but still staged is caught.
#   1. secretlint over the staged contents of every added/copied/modified/renamed file;
#   2. eslint over the staged .ts files (working-tree copies: type-aware linting needs the project on disk).
# Bypass only knowingly: `git commit --no-verify` (CI runs the same scans on every push).
set -eu

ROOT=$(git rev-parse --show-toplevel)
NODE="$ROOT/node_modules/.bin/node"
SECRETLINT="$ROOT/node_modules/secretlint/bin/secretlint.js"
ESLINT="$ROOT/node_modules/eslint/bin/eslint.js"

if [ ! -x "$NODE" ] || [ ! -f "$SECRETLINT" ] || [ ! -f "$ESLINT" ]; then
  echo "pre-commit: node_modules is missing or incomplete, so the secret scan and lint cannot run." >&2
  echo "pre-commit: run 'npm ci' (it installs the pinned Node and the scanners), then commit again." >&2
  exit 1
fi

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/pre-commit-staged.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT INT TERM

# Staged files, NUL-separated so any file name is safe; deletions have nothing to scan.
git diff --cached --name-only --diff-filter=ACMR -z > "$STAGE/.files"
if [ ! -s "$STAGE/.files" ]; then
  exit 0
fi

# Write the staged blobs (the index, not the working tree) under $STAGE/tree, keeping their paths.
mkdir -p "$STAGE/tree"
git checkout-index -z --stdin --prefix="$STAGE/tree/" < "$STAGE/.files"

echo "pre-commit: secretlint over staged contents"
status=0
(
  cd "$STAGE/tree"
  xargs -0 "$NODE" "$SECRETLINT" --no-glob --no-gitignore --no-color \
    --secretlintrc "$ROOT/.secretlintrc.json" \
    --secretlintignore "$ROOT/.secretlintignore" < "$STAGE/.files"
) > "$STAGE/.secretlint.out" 2>&1 || status=$?
# Show repository paths, not the temporary copy's.
sed "s|$STAGE/tree/||g" "$STAGE/.secretlint.out" >&2
if [ "$status" -ne 0 ]; then
  echo "pre-commit: secretlint found a secret in the staged files above; the commit is stopped." >&2
  echo "pre-commit: unstage it (git restore --staged <file>), remove it, and rotate it if it was ever real." >&2
  exit 1
fi

# eslint over staged TypeScript files that still exist in the working tree.
tr '\0' '\n' < "$STAGE/.files" | grep -E '\.(ts|js|mjs)$' > "$STAGE/.lint" || true
if [ -s "$STAGE/.lint" ]; then
  echo "pre-commit: eslint over staged sources"
  cd "$ROOT"
  tr '\n' '\0' < "$STAGE/.lint" | xargs -0 "$NODE" "$ESLINT" --max-warnings 0 --no-warn-ignored -- || {
    echo "pre-commit: eslint failed; fix the problems above (npm run lint shows the whole tree)." >&2
    exit 1
  }
fi
