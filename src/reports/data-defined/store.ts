/**
 * Reading and writing `report_definitions`. Every definition is compiled on the way in (save) and
 * on the way out (load): a document written by any other means gets the same checks, and a bad
 * one is set aside with its reasons while the others keep working.
 */
import type { Collection, Document } from "mongodb";
import { compileDefinition } from "./compile.ts";
import { collectionProblem, type DefinitionPolicy } from "./document.ts";

export class InvalidDefinitionError extends Error {
  override name = "InvalidDefinitionError";
  constructor(
    readonly definitionName: string | undefined,
    readonly errors: string[],
  ) {
    super(`invalid report definition${definitionName ? ` ${definitionName}` : ""}: ${errors.join("; ")}`);
  }
}

export async function readDefinitions(collection: Collection<Document>): Promise<Document[]> {
  return collection.find({}).sort({ name: 1, _id: 1 }).toArray();
}

/**
 * Inserts the definitions the service ships, unless a definition of that name exists: an operator
 * who edited a seeded report keeps the edit across restarts. Idempotent, so every process runs it.
 */
export async function seedDefinitions(
  collection: Collection<Document>,
  seeds: Record<string, unknown>[],
  policy: DefinitionPolicy,
): Promise<string[]> {
  const inserted: string[] = [];
  for (const seed of seeds) {
    // A deployment whose DEFINITION_COLLECTIONS leaves out a seed's collection does not get that seed.
    if (collectionProblem(String(seed.collection), policy)) continue;
    const compiled = compileDefinition(seed, policy);
    // A shipped seed that does not validate is a bug in this repository, not in the data.
    if (!compiled.ok) throw new InvalidDefinitionError(compiled.name, compiled.errors);
    const document = { ...compiled.definition, source: "seed" };
    try {
      const result = await collection.updateOne({ name: document.name }, { $setOnInsert: document }, { upsert: true });
      if (result.upsertedCount > 0) inserted.push(document.name);
    } catch (error) {
      // Two processes seeding at once: the unique index on name lets one win; that is the goal.
      if ((error as { code?: number }).code !== 11000) throw error;
    }
  }
  return inserted;
}
