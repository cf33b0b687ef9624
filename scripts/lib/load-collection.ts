/** Loads one mongoexport file into a collection (used by the loader script and by tests). */
import type { Db } from "mongodb";
import { readExtendedJsonLines } from "../../src/data/ejson-lines.ts";

export async function loadCollection(db: Db, collection: string, file: string): Promise<number> {
  let count = 0;
  for await (const batch of readExtendedJsonLines(file)) {
    // ordered: false so a re-run over existing data skips duplicate _ids instead of stopping.
    try {
      const result = await db.collection(collection).insertMany(batch, { ordered: false });
      count += result.insertedCount;
    } catch (error) {
      const inserted = (error as { result?: { insertedCount?: number }; code?: number }).result?.insertedCount;
      if ((error as { code?: number }).code !== 11000 || inserted === undefined) throw error;
      count += inserted;
    }
  }
  return count;
}
