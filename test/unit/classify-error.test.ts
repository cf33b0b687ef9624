/**
 * Which failures are retried (src/worker/errors.ts), with the driver's real error classes.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { MongoNetworkError, MongoNetworkTimeoutError, MongoServerError, MongoServerSelectionError } from "mongodb";
import { classifyError, RETRYABLE_LABELS, retryDelayMs, TRANSIENT_SERVER_CODES, withoutServerPaths } from "../../src/worker/errors.ts";
import { ValidationError } from "../../src/reports/validation.ts";
import { UnknownReportError } from "../../src/reports/registry.ts";
import { ExportError } from "../../src/results/export.ts";
import { FormatLimitError } from "../../src/results/formats/format.ts";

const test = suite("errors");
const server = (code: number, codeName: string, labels: string[] = []) =>
  new MongoServerError({ ok: 0, code, codeName, errmsg: `${codeName} (test)`, errorLabels: labels });

test("network, server selection and storage failures are transient", () => {
  assert.is(classifyError(new MongoNetworkError("connection reset")).kind, "transient");
  assert.is(classifyError(new MongoNetworkTimeoutError("timed out")).kind, "transient");
  assert.is(classifyError(new MongoServerSelectionError("no primary", { type: "Unknown" } as any)).kind, "transient");
  assert.is(classifyError(new ExportError("csv", "gs://b/o", new Error("503"))).kind, "transient");
});

test("a result past a format's limit fails at once as export_limit, with the reason", () => {
  const classified = classifyError(new FormatLimitError("row 2, column name: 40000 characters of text; an Excel cell holds at most 32767"));
  assert.equal(classified, {
    kind: "permanent",
    error: { code: "export_limit", message: "row 2, column name: 40000 characters of text; an Excel cell holds at most 32767" },
  });
});

test("the documented transient server codes, and any error labelled retryable, are transient", () => {
  for (const [code, name] of TRANSIENT_SERVER_CODES) assert.is(classifyError(server(code, name)).kind, "transient", name);
  assert.is(classifyError(server(99_999, "Whatever", ["RetryableWriteError"])).kind, "transient");
});

test("errors that would recur fail at once, with the server's code in details", () => {
  for (const [code, name] of [
    [146, "ExceededMemoryLimit"],
    [10334, "BSONObjectTooLarge"],
    [16410, "Location16410"],
    [40324, "Location40324"],
    [13, "Unauthorized"],
    [16608, "Location16608"], // division by zero
  ] as const) {
    const classified = classifyError(server(code, name));
    assert.is(classified.kind, "permanent", name);
    assert.is(classified.error.code, "execution");
    assert.equal(classified.error.details, { server_code: code, code_name: name });
    assert.ok(classified.error.message.includes(name), classified.error.message);
  }
  const bug = classifyError(new TypeError("cannot read properties of undefined"));
  assert.is(bug.kind, "permanent");
  assert.is(bug.error.message, "TypeError: cannot read properties of undefined");
  assert.is(bug.error.details, undefined);
});

test("MaxTimeMSExpired (50) is the report's time-out; ExceededTimeLimit (262) is transient, as the driver retries it", () => {
  const classified = classifyError(server(50, "MaxTimeMSExpired"));
  assert.is(classified.kind, "timeout");
  assert.is(classified.error.code, "timeout");
  assert.equal(classified.error.details, { server_code: 50, code_name: "MaxTimeMSExpired" });
  const exceeded = classifyError(server(262, "ExceededTimeLimit"));
  assert.is(exceeded.kind, "transient");
  assert.equal(exceeded.error.details, { server_code: 262, code_name: "ExceededTimeLimit" });
});

test("8.x overload rejections (SystemOverloadedError + RetryableError labels) and stale routing on a sharded cluster are transient", () => {
  assert.is(classifyError(server(462, "IngressRequestRateLimitExceeded", ["SystemOverloadedError", "RetryableError"])).kind, "transient");
  for (const label of RETRYABLE_LABELS) assert.is(classifyError(server(99_998, "Labelled", [label])).kind, "transient", label);
  for (const [code, name] of [
    [63, "StaleShardVersion"],
    [150, "StaleEpoch"],
    [13388, "StaleConfig"],
    [133, "FailedToSatisfyReadPreference"],
    [202, "NetworkInterfaceExceededTimeLimit"],
  ] as const) {
    assert.is(classifyError(server(code, name)).kind, "transient", name);
  }
});

/** The code names of one `new Set<number>([MONGODB_ERROR_CODES.X, …])` in the installed driver's src/error.ts. */
function driverCodeSet(source: string, setName: string): Map<string, number> {
  const codes = new Map<string, number>();
  for (const [, name, value] of source
    .slice(source.indexOf("MONGODB_ERROR_CODES = "), source.indexOf("} as const);"))
    .matchAll(/(\w+): (\d+)/g)) {
    codes.set(name, Number(value));
  }
  const start = source.indexOf(`${setName} = new Set<number>([`);
  assert.ok(start >= 0, `driver source has ${setName}`);
  const body = source.slice(start, source.indexOf("]);", start));
  const members = new Map<string, number>();
  for (const [, name] of body.matchAll(/MONGODB_ERROR_CODES\.(\w+)/g)) members.set(name, codes.get(name)!);
  assert.ok(members.size >= 10, `${setName} parsed (${members.size} codes)`);
  return members;
}

test("every code the installed driver retries a read on, or resumes a getMore after, is transient here", async () => {
  const { readFileSync } = await import("node:fs");
  const { createRequire } = await import("node:module");
  const driverDir = createRequire(import.meta.url)
    .resolve("mongodb/package.json")
    .replace(/package\.json$/, "");
  const source = readFileSync(`${driverDir}src/error.ts`, "utf8");
  for (const setName of ["RETRYABLE_READ_ERROR_CODES", "GET_MORE_RESUMABLE_CODES"]) {
    for (const [name, code] of driverCodeSet(source, setName)) {
      assert.ok(TRANSIENT_SERVER_CODES.has(code), `${setName}: ${name} (${code}) is transient`);
      assert.is(classifyError(server(code, name)).kind, "transient", name);
    }
  }
});

test("bad input and unknown reports are permanent with their own codes", () => {
  const validation = classifyError(new ValidationError([{ path: ["params", "top"], message: "must be positive" }] as any));
  assert.is(validation.kind, "permanent");
  assert.is(validation.error.code, "validation");
  const unknown = classifyError(new UnknownReportError("nope", ["a", "b"]));
  assert.is(unknown.kind, "permanent");
  assert.is(unknown.error.code, "unknown_report");
  assert.equal(unknown.error.details, { available: ["a", "b"] });
});

test("backoff doubles per attempt, jittered within [0.5, 1.5), capped at an hour", () => {
  assert.is(
    retryDelayMs(1_000, 1, () => 0.5),
    1_000,
  );
  assert.is(
    retryDelayMs(1_000, 3, () => 0.5),
    4_000,
  );
  assert.is(
    retryDelayMs(1_000, 1, () => 0),
    500,
  );
  assert.is(
    retryDelayMs(1_000, 40, () => 0.5),
    3_600_000,
  );
});

test("a request's error never shows an absolute server path; URLs and plain text stay", () => {
  const failure = new ExportError(
    "csv",
    "/srv/csv/reports/x.attempt-1.csv",
    new Error("EEXIST: file already exists, mkdir '/srv/csv/reports'"),
  );
  const { error } = classifyError(failure);
  assert.is(error.message, "ExportError: writing the csv file to <server path> failed: EEXIST: file already exists, mkdir '<server path>'");
  for (const kept of ["gs://bucket/reports/a.csv", "https://example.com/a/b", "a/b", "ratio 1/2", "no paths here"]) {
    assert.is(withoutServerPaths(kept), kept);
  }
  assert.is(withoutServerPaths("open (/tmp/x) and [/var/y]"), "open (<server path>) and [<server path>]");
});

test.run();
