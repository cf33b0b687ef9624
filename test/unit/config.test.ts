/**
 * Configuration: parsing, defaults, derived values and errors, and the configuration table in docs/operations.md, which must
 * be exactly what the declarations generate (so documentation cannot drift from the code).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import * as assert from "uvu/assert";
import { CONFIG_VARIABLES, ConfigError, configTable, loadConfig, SETTINGS } from "../../src/config.ts";
import { REPO_ROOT } from "../../scripts/lib/paths.ts";
import { suite } from "../support/suite.ts";

const test = suite("config");

test("defaults apply when nothing is set, with derived values", () => {
  const config = loadConfig({});
  assert.is(config.port, 3000);
  assert.is(config.dbName, "sample_mflix");
  assert.is(config.mongoUri, undefined);
  assert.is(config.heartbeatMs, 10_000, "a third of the default lease");
  assert.is(config.retentionMs, 168 * 3_600_000);
  assert.is(config.bodyLimitBytes, 64 * 1024);
  assert.equal(config.reportsDirs, []);
  assert.is(config.apiKeys.size, 0);
  assert.is(config.csv.gcs, null);
  assert.is(config.demoData, true);
});

test("values are parsed from their text; empty means unset", () => {
  const config = loadConfig({ PORT: "8080", LEASE_MS: "9000", REPORTS_DIRS: "/a:/b", DEMO_DATA: "off", REUSE_WINDOW_S: "2", HOST: "" });
  assert.is(config.port, 8080);
  assert.is(config.heartbeatMs, 3000);
  assert.equal(config.reportsDirs, ["/a", "/b"]);
  assert.is(config.demoData, false);
  assert.is(config.reuseWindowMs, 2000);
  assert.is(config.host, "127.0.0.1");
});

test("a bad value stops the start with the variable's name and value", () => {
  for (const [name, value] of [
    ["PORT", "80a"],
    ["PORT", "70000"],
    ["WORKER_CONCURRENCY", "-1"],
    ["WORKER_CONCURRENCY", "65"],
    ["WORKER_MAX_JOBS", "one"],
    ["DEMO_DATA", "maybe"],
    ["LOG_LEVEL", "loud"],
  ]) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(`${name}=${JSON.stringify(value)}`),
      `${name}=${value}`,
    );
  }
  assert.throws(() => loadConfig({ LEASE_MS: "3000", HEARTBEAT_MS: "3000" }), /HEARTBEAT_MS \(3000\) must be shorter than LEASE_MS/);
  assert.throws(() => loadConfig({ PAGE_SIZE_DEFAULT: "50", PAGE_SIZE_MAX: "20" }), /PAGE_SIZE_DEFAULT/);
  assert.throws(() => loadConfig({ WORKER_MAX_JOBS: "1", WORKER_CONCURRENCY: "0" }), /WORKER_MAX_JOBS \(1\) needs a WORKER_CONCURRENCY/);
});

test("report reads: preference, tag sets in order, staleness; contradictions stop the start", () => {
  const plain = loadConfig({});
  assert.is(plain.reportReadPreference, "primary");
  assert.is(plain.reportReadTags, undefined);
  const analytics = loadConfig({
    REPORT_READ_PREFERENCE: "secondaryPreferred",
    REPORT_READ_TAGS: "nodeType:ANALYTICS, region : east;dc:west;",
    REPORT_MAX_STALENESS_S: "120",
  });
  assert.is(analytics.reportReadPreference, "secondaryPreferred");
  assert.equal(analytics.reportReadTags, [{ nodeType: "ANALYTICS", region: "east" }, { dc: "west" }, {}]);
  assert.is(analytics.reportMaxStalenessS, 120);
  assert.throws(() => loadConfig({ REPORT_READ_TAGS: "nodeType:ANALYTICS" }), /other than primary/);
  assert.throws(() => loadConfig({ REPORT_READ_PREFERENCE: "secondary", REPORT_MAX_STALENESS_S: "30" }), /REPORT_MAX_STALENESS_S/);
  assert.throws(() => loadConfig({ REPORT_READ_PREFERENCE: "secondary", REPORT_READ_TAGS: "analytics" }), /not name:value/);
  assert.throws(() => loadConfig({ REPORT_READ_PREFERENCE: "leader" }), /REPORT_READ_PREFERENCE/);
});

test("every variable is declared once", () => {
  assert.is(new Set(CONFIG_VARIABLES).size, CONFIG_VARIABLES.length);
  assert.is(CONFIG_VARIABLES.length, Object.keys(SETTINGS).length);
});

test("the configuration table in docs/operations.md is the generated one", () => {
  const readme = readFileSync(path.join(REPO_ROOT, "docs/operations.md"), "utf8");
  const table = configTable();
  assert.ok(readme.includes(table), `docs/operations.md must contain the table that \`npm run docs:config\` prints:\n\n${table}\n`);
});

test.run();
