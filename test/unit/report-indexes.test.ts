/**
 * Every shipped report that declares indexes is served by them, with and without its optional
 * filters: the first `$match` (and a `$sort` right after it) of its pipeline, and the first `$match`
 * of each `$lookup` sub-pipeline on a collection it declares an index on, by the planner's rules for
 * one index (test/support/index-coverage.ts: key prefix, bounds, sort direction; a hinted index may
 * be scanned whole, which is covered when the index holds every field the pipeline reads).
 * Reports declaring no index read small collections (movies, users, theaters) and are not checked.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import type { Document } from "mongodb";
import { createRegistry } from "../../src/reports/code-modules.ts";
import type { ReportDefinition } from "../../src/reports/define.ts";
import { coverage, type IndexShape, type QueryShape } from "../support/index-coverage.ts";

const test = suite("report indexes");

const nameOf = (key: Record<string, unknown>) => JSON.stringify(key);

function declaredOn(report: ReportDefinition<any>, collection: string): IndexShape[] {
  return (report.indexes ?? [])
    .filter((index) => (index.collection ?? report.collection) === collection)
    .map((index) => ({ name: nameOf(index.key), key: index.key }));
}

/** The queries a pipeline starts with, per collection: its leading $match/$sort, and each $lookup sub-pipeline's first $match. */
function leadingQueries(report: ReportDefinition<any>, pipeline: Document[]): { collection: string; shape: QueryShape }[] {
  const queries: { collection: string; shape: QueryShape }[] = [];
  const hint = report.hint ? nameOf(report.hint) : undefined;
  const first = pipeline[0] ?? {};
  const match = first.$match as Record<string, unknown> | undefined;
  const sort = (match ? pipeline[1]?.$sort : first.$sort) as Record<string, 1 | -1> | undefined;
  queries.push({ collection: report.collection, shape: { filter: match ?? {}, ...(sort ? { sort } : {}), ...(hint ? { hint } : {}) } });
  for (const stage of pipeline) {
    const lookup = stage.$lookup as { from: string; pipeline?: Document[] } | undefined;
    const inner = lookup?.pipeline?.[0]?.$match as Record<string, unknown> | undefined;
    if (lookup && inner) queries.push({ collection: lookup.from, shape: { filter: inner } });
  }
  return queries;
}

test("each report's leading $match/$sort, with and without its filters, is served by an index it declares", async () => {
  const registry = await createRegistry();
  const withIndexes = registry.list().filter((report) => (report.indexes ?? []).length > 0);
  assert.ok(withIndexes.length >= 5, `${withIndexes.length} reports declare indexes`);
  for (const report of withIndexes) {
    for (const params of [{}, report.example ?? {}]) {
      const pipeline = report.pipeline(report.params.create ? report.params.create(params) : params);
      for (const { collection, shape } of leadingQueries(report, pipeline)) {
        const indexes = declaredOn(report, collection);
        if (indexes.length === 0) continue; // a collection the report declares nothing on (small: users)
        const results = indexes.map((index) => coverage(index, shape));
        assert.ok(
          results.some((r) => r.served),
          `${report.name} ${JSON.stringify(params)} on ${collection}: ${JSON.stringify(shape)} → ${JSON.stringify(results)}`,
        );
      }
    }
  }
});

test.run();
