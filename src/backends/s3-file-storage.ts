/**
 * Uploaded files in S3 (ADR 0033): the only module that opens S3 connections. Every write asks for server-side
 * encryption (SSE-KMS with the configured key, else SSE-S3) and sets no ACL, so objects stay private under the
 * bucket's own policy (the bucket should also enforce encryption, block public access and own its objects).
 * Credentials come from the AWS SDK's default chain (the task role), never from our config.
 *
 * Streamed: a file under one part (5 MiB) is one PutObject; a larger one is a multipart upload sent part by part,
 * so at most one part is held per upload. A failed or oversized upload is aborted, leaving nothing.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  S3Client,
  PutObjectCommand,
  GetObjectCommand,
  DeleteObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
  NoSuchKey,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig, ServerSideEncryption } from '@aws-sdk/client-s3';
import { isStorageKey, StorageLimitError } from './file-storage.ts';
import type { FileStorage, StoredFile } from './file-storage.ts';

export interface S3StorageOptions {
  readonly bucket: string;
  readonly region: string;
  /** An S3-compatible endpoint or VPC endpoint; path-style addressing is used with it. */
  readonly endpoint?: URL;
  /** SSE-KMS key; unset: SSE-S3 (AES256). */
  readonly kmsKeyId?: string;
  /** Tests only (a local S3-compatible server); production uses the SDK's default credential chain. */
  readonly credentials?: S3ClientConfig['credentials'];
  /** Bytes per multipart part (S3's minimum is 5 MiB). */
  readonly partBytes?: number;
}

const PREFIX = 'uploads/';

export function createS3FileStorage(opts: S3StorageOptions): FileStorage & { close(): void } {
  const client = new S3Client({
    region: opts.region,
    ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint.href, forcePathStyle: true }),
    ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
  });
  const partBytes = opts.partBytes ?? 5 * 1024 * 1024;
  const encryption: { ServerSideEncryption: ServerSideEncryption; SSEKMSKeyId?: string } =
    opts.kmsKeyId === undefined
      ? { ServerSideEncryption: 'AES256' }
      : { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: opts.kmsKeyId };
  const Bucket = opts.bucket;
  const objectKey = (key: string): string => PREFIX + key;

  return {
    async put(source, { maxBytes }): Promise<StoredFile> {
      const key = randomUUID();
      const Key = objectKey(key);
      let bytes = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let uploadId: string | undefined;
      const parts: { ETag: string | undefined; PartNumber: number }[] = [];
      const sendPart = async (): Promise<void> => {
        if (uploadId === undefined) {
          const created = await client.send(new CreateMultipartUploadCommand({ Bucket, Key, ...encryption }));
          uploadId = created.UploadId;
          if (uploadId === undefined) throw new Error('S3 gave no upload id');
        }
        const PartNumber = parts.length + 1;
        const body = Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        const sent = await client.send(
          new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body: body }),
        );
        parts.push({ ETag: sent.ETag, PartNumber });
      };
      try {
        for await (const chunk of source) {
          bytes += chunk.byteLength;
          if (bytes > maxBytes) throw new StorageLimitError(maxBytes);
          pending.push(Buffer.from(chunk));
          pendingBytes += chunk.byteLength;
          if (pendingBytes >= partBytes) await sendPart();
        }
        if (uploadId === undefined) {
          await client.send(new PutObjectCommand({ Bucket, Key, Body: Buffer.concat(pending), ...encryption }));
        } else {
          if (pendingBytes > 0) await sendPart();
          await client.send(
            new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          );
        }
        return { key, bytes };
      } catch (err) {
        if (uploadId !== undefined) {
          await client
            .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }))
            .catch(() => undefined);
        }
        throw err;
      }
    },
    async get(key): Promise<Readable | undefined> {
      if (!isStorageKey(key)) return undefined;
      try {
        const got = await client.send(new GetObjectCommand({ Bucket, Key: objectKey(key) }));
        if (got.Body instanceof Readable) return got.Body;
        throw new Error('S3 body is not a Node stream');
      } catch (err) {
        if (err instanceof NoSuchKey) return undefined;
        throw err;
      }
    },
    async delete(key): Promise<void> {
      if (!isStorageKey(key)) return;
      await client.send(new DeleteObjectCommand({ Bucket, Key: objectKey(key) }));
    },
    close() {
      client.destroy();
    },
  };
}
