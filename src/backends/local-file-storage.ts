/**
 * Uploaded files in a local folder (the embedded default, ADR 0033): DATA_DIR/uploads, mode 0700, each file 0600
 * under its random UUID key. A write goes to a temporary name opened exclusively, is synced, and is renamed into
 * place only when complete, so a reader never sees half a file and a failed or oversized write leaves nothing.
 */
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isStorageKey, StorageLimitError } from './file-storage.ts';
import type { FileStorage, StoredFile } from './file-storage.ts';

/* eslint-disable security/detect-non-literal-fs-filename --
   paths are DATA_DIR/uploads (config) joined with a UUID made here or checked by isStorageKey, never request data */
export async function createLocalFileStorage(dataDir: string): Promise<FileStorage> {
  const dir = path.resolve(dataDir, 'uploads');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700); // also when it already existed
  const fileFor = (key: string): string => path.join(dir, key);

  return {
    async put(source, { maxBytes }): Promise<StoredFile> {
      const key = randomUUID();
      const temp = path.join(dir, `.partial-${key}`);
      const fh = await open(temp, 'wx', 0o600);
      let bytes = 0;
      try {
        for await (const chunk of source) {
          bytes += chunk.byteLength;
          if (bytes > maxBytes) throw new StorageLimitError(maxBytes);
          await fh.write(chunk);
        }
        await fh.sync();
        await fh.close();
        await rename(temp, fileFor(key));
        return { key, bytes };
      } catch (err) {
        await fh.close().catch(() => undefined);
        await rm(temp, { force: true });
        throw err;
      }
    },
    async get(key): Promise<Readable | undefined> {
      if (!isStorageKey(key)) return undefined;
      try {
        const fh = await open(fileFor(key), 'r');
        return fh.createReadStream();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async delete(key): Promise<void> {
      if (!isStorageKey(key)) return;
      await rm(fileFor(key), { force: true });
    },
  };
}
/* eslint-enable security/detect-non-literal-fs-filename */
