/**
 * The local-directory sink: the default when no bucket is configured, so a fresh machine can
 * produce and download CSV files. A file is written under `incomplete/` and renamed to its final
 * path on commit (rename is atomic within one directory tree), so a reader never sees half a file.
 * Reads and removals name files by the same rule (locations.ts), never by a path from a document.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { incompleteFileName, storedFileName, type StoredFile } from "../locations.ts";
import type { CsvSink, CsvTarget, CsvUpload } from "./sink.ts";

export class LocalCsvSink implements CsvSink {
  readonly kind = "local" as const;

  constructor(readonly dir: string) {}

  private pathOf(object: string): string {
    const full = path.resolve(this.dir, object);
    // Names come from locations.ts only; this is a second fence, not the first.
    if (!full.startsWith(path.resolve(this.dir) + path.sep)) throw new Error(`CSV path ${JSON.stringify(object)} is outside ${this.dir}`);
    return full;
  }

  describe(target: CsvTarget): string {
    return this.pathOf(storedFileName(target.requestId, target.attempt, target.ext ?? "csv"));
  }

  async open(target: CsvTarget): Promise<CsvUpload> {
    const ext = target.ext ?? "csv";
    const object = storedFileName(target.requestId, target.attempt, ext);
    const finalPath = this.pathOf(object);
    const tempPath = this.pathOf(incompleteFileName(target.requestId, target.attempt, ext));
    await mkdir(path.dirname(tempPath), { recursive: true });
    await mkdir(path.dirname(finalPath), { recursive: true });
    const stream = createWriteStream(tempPath, { flags: "w", highWaterMark: 256 * 1024 });
    return {
      where: finalPath,
      stream,
      commit: async ({ rows }) => {
        const { size } = await stat(tempPath);
        await rename(tempPath, finalPath);
        return { sink: "local", object, bytes: size, rows };
      },
      abort: async () => {
        stream.destroy();
        await rm(tempPath, { force: true });
      },
    };
  }

  private pathOfFile(file: StoredFile): string {
    return this.pathOf(storedFileName(file.requestId, file.attempt, file.ext));
  }

  async read(stored: StoredFile): Promise<{ stream: ReturnType<typeof createReadStream>; bytes: number } | null> {
    const file = this.pathOfFile(stored);
    try {
      const { size } = await stat(file);
      return { stream: createReadStream(file), bytes: size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }

  async remove(stored: StoredFile): Promise<boolean> {
    try {
      await rm(this.pathOfFile(stored));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
  }
}
