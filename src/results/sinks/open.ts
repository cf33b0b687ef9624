/**
 * Picks the CSV sink from configuration: GCS when a bucket is set, else the local directory.
 * The storage client is imported only when GCS is used, so local runs (and Deno workers without
 * GCS) do not load it.
 */
import type { CsvConfig } from "../../config.ts";
import { LocalCsvSink } from "./local.ts";
import type { CsvSink } from "./sink.ts";

export async function openCsvSink(config: CsvConfig): Promise<CsvSink> {
  if (!config.gcs) return new LocalCsvSink(config.localDir);
  const { createGcsSink } = await import("./gcs.ts");
  return createGcsSink(config.gcs, { linkExpirySeconds: config.linkExpirySeconds });
}
