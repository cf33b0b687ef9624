/**
 * The test results as data: every test (and every failed tear-down) that runs through suite.ts
 * appends one line of JSON to the file the runner names in TEST_RESULTS_FILE, and the runner
 * counts those lines instead of reading uvu's printed summary. Outside the runner (a test file
 * run by hand) nothing is written.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import process from "node:process";

export type TestRecord =
  { kind: "test"; suite: string; test: string; ok: boolean; error?: string } | { kind: "teardown"; suite: string; error: string };

export function recordResult(record: TestRecord): void {
  const file = process.env.TEST_RESULTS_FILE;
  if (file) appendFileSync(file, `${JSON.stringify(record)}\n`);
}

export interface TestResults {
  passed: number;
  /** Failed tests and failed tear-downs. */
  failed: number;
  failures: string[];
}

export function readResults(file: string): TestResults {
  const records = existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as TestRecord)
    : [];
  const failures = records.flatMap((record) => {
    if (record.kind === "teardown") return [`tear-down of "${record.suite}": ${record.error}`];
    return record.ok ? [] : [`"${record.suite}" ${record.test}: ${record.error ?? "failed"}`];
  });
  return { passed: records.filter((record) => record.kind === "test" && record.ok).length, failed: failures.length, failures };
}
