/**
 * Reads mongoexport output: one relaxed Extended JSON document per line, optionally gzipped
 * (`.gz`), and yields BSON-ready documents (ObjectIds, Dates, …) in batches for insertMany.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import { BSON, type Document } from "mongodb";

export async function* readExtendedJsonLines(file: string, batchSize = 1000): AsyncGenerator<Document[]> {
  const raw = createReadStream(file);
  const input = file.endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
  raw.on("error", (error) => input.destroy(error));
  const lines = createInterface({ input, crlfDelay: Infinity });
  let batch: Document[] = [];
  let lineNo = 0;
  for await (const line of lines) {
    lineNo += 1;
    if (line.trim() === "") continue;
    try {
      batch.push(BSON.EJSON.parse(line, { relaxed: true }) as Document);
    } catch (error) {
      throw new Error(`${file}:${lineNo}: not an Extended JSON document: ${(error as Error).message}`);
    }
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
