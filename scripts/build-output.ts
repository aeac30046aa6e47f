/**
 * Where a build script writes (build-assets.ts, build-server.ts): the target folder, `--out <dir>` (tests) or the
 * script's default, and a fresh folder beside it to build into. The finished folder is renamed into place at the
 * end, so two builds at once never write into, or delete, a folder the other is using, and a server starting from
 * the old build never reads a half-written one. A failed build leaves nothing behind.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export interface BuildOutput {
  /** The folder the build ends up in. */
  readonly target: string;
  /** The fresh folder to build into; removed at exit unless moved into place. */
  readonly out: string;
}

/** The target (`--out <dir>` in `argv`, else `fallback`) and a fresh folder beside it. */
export function buildOutput(fallback: string, argv: readonly string[] = process.argv): BuildOutput {
  const outArg = argv.indexOf('--out');
  const given = outArg > 0 ? argv[outArg + 1] : undefined;
  const target = given === undefined ? fallback : resolve(given);
  mkdirSync(dirname(target), { recursive: true });
  const out = mkdtempSync(join(dirname(target), `.${basename(target)}-`));
  process.on('exit', () => {
    rmSync(out, { recursive: true, force: true });
  });
  return { target, out };
}

/**
 * Renames the finished folder onto the target. A folder cannot be renamed over a non-empty one, so the old target is
 * first renamed aside (one rename: a reader sees the old folder or the new, never a half-written one) and removed.
 * Another build may do the same at once; the builds are deterministic, so whichever lands last is the same output.
 */
export function moveIntoPlace(from: string, to: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      renameSync(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 20) throw err;
    }
    const aside = `${from}-old`;
    try {
      renameSync(to, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // another build moved it first
      continue;
    }
    rmSync(aside, { recursive: true, force: true });
  }
}
