/**
 * The Google Cloud Storage sink. Bytes stream into a resumable upload under `incomplete/…`;
 * GCS creates no object until the last chunk is committed, so a failed attempt leaves nothing.
 * On commit the finished object is copied to `reports/<report-name>/<id>.csv` with its content
 * type and metadata (including the row count, known only at the end) and the incomplete one
 * deleted: the final name only ever holds a complete file.
 */
import { Writable, type Readable } from "node:stream";
import { Storage, type Bucket } from "@google-cloud/storage";
import type { GcsConfig } from "../../config.ts";
import { CSV_CONTENT_TYPE } from "../csv.ts";
import type { CsvLink, CsvSink, CsvTarget, CsvUpload, StoredCsv } from "./sink.ts";
import { finalObjectName, incompleteObjectName } from "./sink.ts";

export interface GcsSinkOptions {
  linkExpirySeconds: number;
}

export function createStorage(config: GcsConfig): Storage {
  const storage = new Storage({
    ...(config.emulatorHost ? { apiEndpoint: config.emulatorHost } : {}),
    ...(config.keyFile ? { keyFilename: config.keyFile } : {}),
    ...(config.projectId ? { projectId: config.projectId } : config.emulatorHost ? { projectId: "emulator" } : {}),
    retryOptions: { autoRetry: config.maxRetries > 0, maxRetries: config.maxRetries, maxRetryDelay: 16, totalTimeout: 120 },
  });
  if (config.emulatorHost) {
    // With STORAGE_EMULATOR_HOST in the environment the client uses that raw value as its JSON API
    // base (no /storage/v1), while uploads go to apiEndpoint; pin both to the normalised origin.
    (storage as unknown as { baseUrl: string }).baseUrl = `${config.emulatorHost}/storage/v1`;
  }
  return storage;
}

/**
 * Feeds the storage client's upload stream no faster than its upload reads (its `progress`
 * events), at most `maxAhead` bytes ahead. The client's chunked resumable upload acknowledges
 * writes as it copies them into its chunk buffer and again as it sends them, so on its own it
 * accepts data faster than it uploads and its queue grows with the file (measured: 17 MB behind
 * on a 52 MB export). Holding the write callback here carries the upload's real pace back to the
 * cursor.
 */
export function readPaced(upload: Writable, maxAhead: number): Writable {
  let written = 0;
  let read = 0;
  let waiting: ((error?: Error | null) => void) | null = null;
  const release = () => {
    if (waiting && written - read <= maxAhead) {
      const callback = waiting;
      waiting = null;
      callback();
    }
  };
  upload.on("progress", (progress: { bytesWritten?: number }) => {
    read = progress.bytesWritten ?? read;
    release();
    paced.emit("progress", progress);
  });
  const paced = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      written += chunk.length;
      const next = () => {
        waiting = callback;
        release();
      };
      if (upload.write(chunk)) next();
      else upload.once("drain", next);
    },
    final(callback) {
      // The client's stream finishes only once the object is stored.
      upload.once("finish", () => callback());
      upload.end();
    },
    destroy(error, callback) {
      if (!upload.destroyed) upload.destroy(error ?? undefined);
      callback(error);
    },
  });
  upload.once("error", (error) => paced.destroy(error));
  return paced;
}

export class GcsCsvSink implements CsvSink {
  readonly kind = "gcs" as const;
  private readonly bucket: Bucket;

  constructor(
    private readonly storage: Storage,
    private readonly config: GcsConfig,
    private readonly options: GcsSinkOptions,
  ) {
    this.bucket = storage.bucket(config.bucket);
  }

  describe(target: CsvTarget): string {
    return `gs://${this.config.bucket}/${finalObjectName(target)}`;
  }

  async open(target: CsvTarget): Promise<CsvUpload> {
    const object = finalObjectName(target);
    const temp = this.bucket.file(incompleteObjectName(target));
    const identity = { request_id: target.requestId, report_name: target.reportName, attempt: String(target.attempt) };
    const stream = temp.createWriteStream({
      resumable: true,
      // Chunked: each chunk is one complete request, so memory per upload is one chunk and an
      // aborted upload leaves no request hanging (an unchunked one waits for its body forever).
      chunkSize: this.config.chunkSizeBytes,
      contentType: CSV_CONTENT_TYPE,
      metadata: { contentType: CSV_CONTENT_TYPE, metadata: identity },
      validation: "crc32c",
    });
    return {
      where: this.describe(target),
      stream: readPaced(stream, this.config.chunkSizeBytes),
      commit: async ({ rows, bytes }) => {
        await temp.copy(this.bucket.file(object), {
          contentType: CSV_CONTENT_TYPE,
          contentDisposition: `attachment; filename="${target.reportName}-${target.requestId}.csv"`,
          metadata: { ...identity, row_count: String(rows), columns: JSON.stringify(target.columns) },
        });
        // Best effort: a leftover under incomplete/ is harmless and a lifecycle rule can sweep it.
        await temp.delete({ ignoreNotFound: true }).catch(() => {});
        const stored: StoredCsv = { sink: "gcs", bucket: this.config.bucket, object, bytes, rows };
        const link = await this.link(stored);
        return link.expiresAt ? { ...stored, url: link.url, url_expires_at: link.expiresAt } : stored;
      },
      abort: async () => {
        stream.destroy();
        await temp.delete({ ignoreNotFound: true });
      },
    };
  }

  /** A V4 signed URL when a service-account key is configured (signed offline), else gs://. */
  async link(stored: StoredCsv): Promise<CsvLink> {
    const bucket = stored.bucket ?? this.config.bucket;
    if (!this.config.keyFile) return { url: `gs://${bucket}/${stored.object}` };
    const expiresAt = new Date(Date.now() + this.options.linkExpirySeconds * 1000);
    const [url] = await this.storage.bucket(bucket).file(stored.object).getSignedUrl({ version: "v4", action: "read", expires: expiresAt });
    return { url, expiresAt };
  }

  /** The object's bytes (a reader without GCS credentials uses `link`); null when it is gone. */
  async read(stored: StoredCsv): Promise<{ stream: Readable; bytes: number } | null> {
    const file = this.storage.bucket(stored.bucket ?? this.config.bucket).file(stored.object);
    try {
      const [metadata] = await file.getMetadata();
      return { stream: file.createReadStream(), bytes: Number(metadata.size) };
    } catch (error) {
      if ((error as { code?: number }).code === 404) return null;
      throw error;
    }
  }

  async remove(stored: StoredCsv): Promise<boolean> {
    try {
      await this.storage
        .bucket(stored.bucket ?? this.config.bucket)
        .file(stored.object)
        .delete();
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return false;
      throw error;
    }
  }
}

export function createGcsSink(config: GcsConfig, options: GcsSinkOptions): GcsCsvSink {
  return new GcsCsvSink(createStorage(config), config, options);
}
