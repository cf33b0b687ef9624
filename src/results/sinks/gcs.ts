/**
 * The Google Cloud Storage sink. Bytes stream into a resumable upload under `incomplete/…`;
 * GCS creates no object until the last chunk is committed, so a failed attempt leaves nothing.
 * On commit the finished object is copied to `reports/<id>.attempt-<n>.csv` (locations.ts) with its
 * content type and metadata (including the row count, known only at the end) and the incomplete one
 * deleted: the final name only ever holds a complete file. Links, reads and removals name objects
 * in the configured bucket only, by the same rule.
 */
import { Writable, type Readable } from "node:stream";
import { setImmediate } from "node:timers";
import { Storage, type Bucket } from "@google-cloud/storage";
import type { GcsConfig } from "../../config.ts";
import { CSV_CONTENT_TYPE } from "../csv.ts";
import { incompleteFileName, storedFileName, type StoredFile } from "../locations.ts";
import type { CsvLink, CsvSink, CsvTarget, CsvUpload, StoredCsv } from "./sink.ts";

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
 *
 * The callback is handed back on the next turn of the event loop, never synchronously: the
 * client moves bytes between its buffers with process.nextTick and promises, a loopback socket
 * accepts writes at once, and rows may already be in memory (a cursor batch), so without that
 * turn an export can run for seconds without letting a timer fire: measured, the event loop was
 * blocked up to 6–7 s during a 100,000-row export on the loaded benchmark machine, and a 3 s
 * lease expired under a running export.
 */
export function readPaced(upload: Writable, maxAhead: number): Writable {
  let written = 0;
  let read = 0;
  let waiting: ((error?: Error | null) => void) | null = null;
  const release = () => {
    if (waiting && written - read <= maxAhead) {
      const callback = waiting;
      waiting = null;
      setImmediate(callback);
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

/**
 * How far the CSV may run ahead of a streamed (unchunked) upload's request: enough to keep the
 * socket busy, small enough not to matter in memory.
 */
export const STREAMED_AHEAD_BYTES = 1024 * 1024;

export class GcsCsvSink implements CsvSink {
  readonly kind = "gcs" as const;
  private readonly bucket: Bucket;

  constructor(
    storage: Storage,
    private readonly config: GcsConfig,
    private readonly options: GcsSinkOptions,
  ) {
    this.bucket = storage.bucket(config.bucket);
  }

  describe(target: CsvTarget): string {
    return `gs://${this.config.bucket}/${storedFileName(target.requestId, target.attempt, target.ext ?? "csv")}`;
  }

  async open(target: CsvTarget): Promise<CsvUpload> {
    const ext = target.ext ?? "csv";
    const object = storedFileName(target.requestId, target.attempt, ext);
    const temp = this.bucket.file(incompleteFileName(target.requestId, target.attempt, ext));
    const identity = { request_id: target.requestId.toHexString(), report_name: target.reportName, attempt: String(target.attempt) };
    const chunked = this.config.chunkSizeBytes > 0;
    const contentType = target.contentType ?? CSV_CONTENT_TYPE;
    const metadata = { contentType, metadata: identity };
    // The resumable session is opened here, before the first row is encoded, rather than by the
    // stream's first write. That round trip stalled the export right after it started, with its
    // first writes in flight, and in some processes every later write's 64 KiB buffer was then
    // promoted to old space and waited for a full collection: 1,000,000 rows peaked at 172 MB
    // instead of about 110 in 1 run of 5, and in 6 of 13 runs with the heap profiler attached,
    // against 0 of 13 with the session opened first (docs/benchmarks.md). Offset 0: a fresh
    // session holds nothing, so the stream need not ask the server where to resume.
    const [uri] = await temp.createResumableUpload({ metadata });
    const stream = temp.createWriteStream({
      resumable: true,
      uri,
      offset: 0,
      // By default one resumable request streams the whole file: the client keeps only the buffer
      // it is sending, so each 64 KiB write dies young. Chunked (GCS_UPLOAD_CHUNK_KB), the client
      // keeps every buffer of a chunk until the server has confirmed it (to resend it on failure):
      // they live long enough to be promoted to V8's old space, where they wait for a full
      // collection, which V8 starts only once about 64 MB more of such memory has accumulated.
      // Measured on 1,000,000 rows: 8 MiB chunks peaked at 168–184 MB RSS, 74–90 MB of it in
      // buffers; one streamed request peaked at 126–135 MB in 6 runs of 9 and at 170–181 MB in the
      // other 3 (more promotion to old space in those), against 106–118 MB for the local sink
      // (bench/README.md).
      ...(chunked ? { chunkSize: this.config.chunkSizeBytes } : {}),
      contentType,
      metadata,
      validation: "crc32c",
    });
    return {
      where: this.describe(target),
      stream: readPaced(stream, chunked ? this.config.chunkSizeBytes : STREAMED_AHEAD_BYTES),
      commit: async ({ rows, bytes, sha256 }) => {
        await temp.copy(this.bucket.file(object), {
          contentType,
          contentDisposition: `attachment; filename="${target.reportName}-${target.requestId.toHexString()}.${ext}"`,
          metadata: { ...identity, row_count: String(rows), columns: JSON.stringify(target.columns), ...(sha256 ? { sha256 } : {}) },
        });
        // Best effort: a leftover under incomplete/ is harmless and a lifecycle rule can sweep it.
        await temp.delete({ ignoreNotFound: true }).catch(() => {});
        const stored: StoredCsv = { sink: "gcs", bucket: this.config.bucket, object, bytes, rows };
        const link = await this.link({ requestId: target.requestId, attempt: target.attempt, ext });
        return link.expiresAt ? { ...stored, url: link.url, url_expires_at: link.expiresAt } : stored;
      },
      abort: async () => {
        if (!stream.destroyed) {
          // With an error: the client then also cancels a request still waiting for body bytes
          // (a streamed upload's request would otherwise hold its socket until the server gives up).
          stream.on("error", () => {});
          stream.destroy(new Error(`CSV upload to ${this.describe(target)} aborted`));
        }
        await temp.delete({ ignoreNotFound: true });
      },
    };
  }

  /** The file's object, always in the configured bucket (see locations.ts). */
  private fileOf(file: StoredFile) {
    return this.bucket.file(storedFileName(file.requestId, file.attempt, file.ext));
  }

  /** A V4 signed URL when a service-account key is configured (signed offline), else gs://. */
  async link(file: StoredFile): Promise<CsvLink> {
    const object = storedFileName(file.requestId, file.attempt, file.ext);
    if (!this.config.keyFile) return { url: `gs://${this.config.bucket}/${object}` };
    const expiresAt = new Date(Date.now() + this.options.linkExpirySeconds * 1000);
    const [url] = await this.bucket.file(object).getSignedUrl({ version: "v4", action: "read", expires: expiresAt });
    return { url, expiresAt };
  }

  /** The object's bytes (a reader without GCS credentials uses `link`); null when it is gone. */
  async read(file: StoredFile): Promise<{ stream: Readable; bytes: number } | null> {
    const object = this.fileOf(file);
    try {
      const [metadata] = await object.getMetadata();
      return { stream: object.createReadStream(), bytes: Number(metadata.size) };
    } catch (error) {
      if ((error as { code?: number }).code === 404) return null;
      throw error;
    }
  }

  async remove(file: StoredFile): Promise<boolean> {
    try {
      await this.fileOf(file).delete();
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
