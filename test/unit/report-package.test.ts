/**
 * The package's entry for report authors (package.json "exports", src/reports/public.ts): it
 * resolves to the built service's own modules, so a report module built with it is one the
 * catalogue accepts; the example module in examples/reports loads as a report.
 */
import path from "node:path";
import * as assert from "uvu/assert";
import * as pkg from "mongo-reports";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { loadCodeModules } from "../../src/reports/code-modules.ts";
import { defineReport } from "../../src/reports/define.ts";
import { suite } from "../support/suite.ts";

const test = suite("report-package");

test('"mongo-reports" is the service\'s own defineReport, not a copy', () => {
  assert.is(pkg.defineReport, defineReport);
});

test("the example report module (examples/reports) loads as a report, with no rejections", async () => {
  const { reports, rejected } = await loadCodeModules([path.join(REPO_ROOT, "dist", "examples", "reports")]);
  assert.equal(rejected, []);
  assert.equal(
    reports.map((report) => report.name),
    ["longest-movies"],
  );
  const [report] = reports;
  assert.equal(report.params.create({ top: 3 }), { top: 3 });
  assert.equal(report.pipeline(report.params.create({ top: 3 })).at(-2), { $limit: 3 });
});

test.run();
