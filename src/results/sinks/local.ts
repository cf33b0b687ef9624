/**
 * The local-directory sink: the default when no bucket is configured, so a fresh machine can
 * produce and download CSV files. A file is written under `incomplete/` and renamed to its final
 * path on commit (rename is atomic within one directory tree), so a reader never sees half a file.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { CsvSink, CsvTarget, CsvUpload, StoredCsv } from "./sink.ts";
import { finalObjectName, incompleteObjectName } from "./sink.ts";

export class LocalCsvSink implements CsvSink {
  readonly kind = "local" as const;

  constructor(readonly dir: string) {}

  private pathOf(object: string): string {
    const full = path.resolve(this.dir, object);
    // Objects come from our own naming, but a result document is data: never leave the directory.
    if (!full.startsWith(path.resolve(this.dir) + path.sep)) throw new Error(`CSV path ${JSON.stringify(object)} is outside ${this.dir}`);
    return full;
  }

  describe(target: CsvTarget): string {
    return this.pathOf(finalObjectName(target));
  }

  async open(target: CsvTarget): Promise<CsvUpload> {
    const object = finalObjectName(target);
    const finalPath = this.pathOf(object);
    const tempPath = this.pathOf(incompleteObjectName(target));
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

  async read(stored: StoredCsv): Promise<{ stream: ReturnType<typeof createReadStream>; bytes: number } | null> {
    const file = this.pathOf(stored.object);
    try {
      const { size } = await stat(file);
      return { stream: createReadStream(file), bytes: size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }

  async remove(stored: StoredCsv): Promise<boolean> {
    try {
      await rm(this.pathOf(stored.object));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
  }
}
