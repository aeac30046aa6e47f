/**
 * The file storage the config names (ADR 0033), each backend imported only when chosen, so S3's SDK loads only with
 * a bucket. A module of its own, apart from the contract in file-storage.ts that the backends build on, so that no
 * two modules import each other.
 */
import type { FileStorage } from './file-storage.ts';

/** The backend the config names: S3 when UPLOAD_S3_BUCKET is set, else DATA_DIR/uploads. S3's SDK loads only then. */
export async function createFileStorage(config: {
  readonly dataDir: string;
  readonly uploadS3Bucket: string | undefined;
  readonly uploadS3Region: string;
  readonly uploadS3Endpoint: URL | undefined;
  readonly uploadS3KmsKeyId: string | undefined;
}): Promise<FileStorage> {
  if (config.uploadS3Bucket === undefined) {
    const { createLocalFileStorage } = await import('./local-file-storage.ts');
    return createLocalFileStorage(config.dataDir);
  }
  const { createS3FileStorage } = await import('./s3-file-storage.ts');
  return createS3FileStorage({
    bucket: config.uploadS3Bucket,
    region: config.uploadS3Region,
    ...(config.uploadS3Endpoint === undefined ? {} : { endpoint: config.uploadS3Endpoint }),
    ...(config.uploadS3KmsKeyId === undefined ? {} : { kmsKeyId: config.uploadS3KmsKeyId }),
  });
}

/**
 * A storage usable at once whose backend is still being made (the app's services are built synchronously; the
 * folder or the S3 client is ready by the first upload). Every call waits for it; a failure to make it fails them.
 */
export function deferredFileStorage(making: Promise<FileStorage>): FileStorage {
  making.catch(() => undefined); // reported by the first call that needs it, never an unhandled rejection
  return {
    put: async (source, opts) => (await making).put(source, opts),
    get: async (key) => (await making).get(key),
    delete: async (key) => (await making).delete(key),
  };
}
