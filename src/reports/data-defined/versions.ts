/**
 * Versions of data-defined reports. `report_definitions` holds the current document of each
 * report (operators may still edit it in MongoDB); `report_definition_versions` keeps every
 * accepted document, numbered per report, and is never edited. It gives:
 *  - history and undo: list, read and restore (a restore is itself a new version);
 *  - resilience: a current document edited into an invalid state keeps its last good version
 *    serving (the loader falls back to it and lists the bad one as rejected beside it);
 *  - explanation: each request records the version it ran with.
 *
 * A version's `_id` is "<name>@<n>", so two writers that pick the same number collide on `_id`
 * (unique on every deployment) instead of silently writing two version 3s.
 */
import type { Collection, Document } from "mongodb";
import type { ReportDefinition } from "../define.ts";
import type { RejectedReport } from "../registry.ts";
import { compileDefinition, type CompileResult } from "./compile.ts";
import { DefinitionDocument, type DefinitionPolicy } from "./document.ts";
import { InvalidDefinitionError } from "./store.ts";

export type VersionSource = "api" | "restore" | "seed" | "manual";

export interface DefinitionVersion {
  _id: string;
  name: string;
  version: number;
  /** The definition as it was accepted (only the fields a definition has). */
  definition: Record<string, unknown>;
  created_at: Date;
  source: VersionSource;
  /** For a restore: the version it copied. */
  restored_from?: number;
}

/** The fields of a definition, in the order written, without bookkeeping (_id, version, updated_at, source). */
export function definitionContent(document: Document): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  for (const key of Object.keys(DefinitionDocument.schema)) {
    if (key !== "source" && document[key] !== undefined) content[key] = document[key];
  }
  return content;
}

const sameContent = (a: Document, b: Document) => JSON.stringify(definitionContent(a)) === JSON.stringify(definitionContent(b));

const versionId = (name: string, version: number) => `${name}@${version}`;

export interface LoadedVersionedDefinitions {
  reports: ReportDefinition<any>[];
  rejected: RejectedReport[];
}

export class DefinitionVersions {
  constructor(
    private readonly definitions: Collection<Document>,
    private readonly versions: Collection<DefinitionVersion>,
    /** What definitions may reach in this deployment (DEFINITION_COLLECTIONS, HIDDEN_FIELDS). */
    readonly policy: DefinitionPolicy,
  ) {}

  /** Checks a definition against this deployment's policy: every route and loader compiles through here. */
  compile(raw: unknown, origin?: string): CompileResult {
    return compileDefinition(raw, this.policy, origin);
  }

  async latestVersion(name: string): Promise<DefinitionVersion | null> {
    return this.versions.findOne({ name }, { sort: { version: -1 } });
  }

  list(name: string): Promise<DefinitionVersion[]> {
    return this.versions.find({ name }).sort({ version: 1 }).toArray();
  }

  get(name: string, version: number): Promise<DefinitionVersion | null> {
    return this.versions.findOne({ _id: versionId(name, version) });
  }

  current(name: string): Promise<Document | null> {
    return this.definitions.findOne({ name });
  }

  /**
   * Validates `raw` and makes it the current definition as a new version. Throws
   * InvalidDefinitionError (with every reason) and changes nothing when it does not validate.
   */
  async save(raw: unknown, source: VersionSource, restoredFrom?: number): Promise<{ version: number; created: boolean }> {
    const compiled = this.compile(raw);
    if (!compiled.ok) throw new InvalidDefinitionError(compiled.name, compiled.errors);
    const content = definitionContent(compiled.definition);
    const name = compiled.definition.name;
    const version = await this.record(name, content, source, restoredFrom);
    // Only a newer version may replace the current document: of two concurrent saves the later
    // version wins whatever order the writes land in. When no current document exists (a first
    // save, or after a retire), both upserts miss the filter and insert; the loser hits the unique
    // name (the server does not retry an upsert whose filter has an $or), and is tried once more:
    // the document now exists, so the replace applies exactly when this version is the newer one.
    const current = { ...content, version, source: source === "seed" ? "seed" : "api", updated_at: new Date() };
    const filter = { name, $or: [{ version: { $lt: version } }, { version: { $exists: false } }, { version: null }] };
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.definitions.replaceOne(filter, current, { upsert: true });
        return { version, created: result.upsertedCount > 0 };
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
        if (attempt > 0) return { version, created: false }; // a newer version is current
      }
    }
  }

  /** Takes the report out of service; its versions stay, so it can be restored. */
  async retire(name: string): Promise<boolean> {
    const { deletedCount } = await this.definitions.deleteOne({ name });
    return deletedCount === 1;
  }

  /**
   * Stores `content` as the next version of `name`; retries when another writer took the number.
   * A recording the service makes by itself (adopting a manual edit, a seed) is made by every
   * process that notices it at once: when the writer that took the number recorded the same
   * content, that version is this one too (no twin versions).
   */
  private async record(name: string, content: Record<string, unknown>, source: VersionSource, restoredFrom?: number): Promise<number> {
    const automatic = source === "manual" || source === "seed";
    for (let attempt = 0; attempt < 10; attempt++) {
      const latest = await this.latestVersion(name);
      if (automatic && attempt > 0 && latest && sameContent(latest.definition, content)) return latest.version;
      const version = (latest?.version ?? 0) + 1;
      try {
        await this.versions.insertOne({
          _id: versionId(name, version),
          name,
          version,
          definition: content,
          created_at: new Date(),
          source,
          ...(restoredFrom === undefined ? {} : { restored_from: restoredFrom }),
        });
        return version;
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
      }
    }
    throw new Error(`could not number a new version of ${name}: too many concurrent writers`);
  }

  /**
   * Compiles the current documents into reports, each carrying its version:
   *  - a valid document that matches its recorded version serves as that version;
   *  - a valid document written some other way (seeded, or edited in MongoDB) is recorded as a
   *    new version first (source seed or manual), then serves as it;
   *  - an invalid document is rejected with its reasons, and its last good version serves.
   */
  async load(documents: Document[]): Promise<LoadedVersionedDefinitions> {
    const reports: ReportDefinition<any>[] = [];
    const rejected: RejectedReport[] = [];
    const recorded = new Map<string, DefinitionVersion>();
    const ids = documents
      .filter((d) => typeof d.name === "string" && typeof d.version === "number")
      .map((d) => versionId(d.name, d.version));
    if (ids.length > 0) for (const v of await this.versions.find({ _id: { $in: ids } }).toArray()) recorded.set(v._id, v);

    for (const document of documents) {
      const origin = `report_definitions:${String(document._id)}`;
      const { _id, ...fields } = document;
      const compiled = this.compile(fields, origin);
      if (compiled.ok) {
        const known =
          typeof document.version === "number" ? recorded.get(versionId(compiled.definition.name, document.version)) : undefined;
        const version = known && sameContent(known.definition, fields) ? known.version : await this.adopt(document);
        reports.push({ ...compiled.report, ...(version === undefined ? {} : { version }) });
        continue;
      }
      const name = compiled.name;
      const fallback = name ? await this.latestVersion(name) : null;
      const serving = fallback ? this.compile(fallback.definition, `${origin}@${fallback.version}`) : undefined;
      if (fallback && serving?.ok) {
        reports.push({ ...serving.report, version: fallback.version });
        rejected.push({ kind: "data", name, origin, errors: compiled.errors, serving_version: fallback.version });
      } else {
        rejected.push({ kind: "data", ...(name ? { name } : {}), origin, errors: compiled.errors });
      }
    }
    return { reports, rejected };
  }

  /**
   * Records a valid current document that no version describes (seeded, or edited straight in
   * MongoDB) as a new version, and stamps the document with it. Every process may try at once:
   * they read the same document, so whichever numbers it first records the same content.
   * Returns undefined when another writer changed the document meanwhile (the next load sees it).
   */
  private async adopt(document: Document): Promise<number | undefined> {
    const source: VersionSource = document.source === "seed" && document.version === undefined ? "seed" : "manual";
    const latest = await this.latestVersion(document.name as string);
    // Another process adopted this very content a moment ago: use its number, do not add a twin.
    const version =
      latest && sameContent(latest.definition, document)
        ? latest.version
        : await this.record(document.name as string, definitionContent(document), source);
    const { matchedCount } = await this.definitions.updateOne(
      { _id: document._id, version: document.version ?? null, updated_at: document.updated_at ?? null },
      { $set: { version } },
    );
    return matchedCount === 1 ? version : undefined;
  }
}
