/**
 * The web console end to end, in a real browser (Debian's chromium driven by playwright-core)
 * against the real service, the test MongoDB and the sample_mflix data: catalogue, run form,
 * live status, rows and paging, chart, CSV download, server errors next to their fields, cancel,
 * history, the API key prompt and /docs. axe-core checks each page; screenshots of each page go to
 * .cache/screenshots/ (git-ignored) for a reviewer to look at.
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { ObjectId } from "mongodb";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { parseApiKeys } from "../../src/config/api-keys.ts";
import { Worker } from "../../src/worker/worker.ts";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { eventually, get, post } from "../support/http.ts";
import { insertHeldRequest } from "../support/reports.ts";
import { loadMflix } from "../support/mflix.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE_REPORTS = path.join(here, "..", "fixtures", "console-reports");
/** dist/test/integration → the repository's .cache/screenshots (git-ignored). */
export const SCREENSHOTS = path.join(here, "..", "..", "..", ".cache", "screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const test = suite("console (browser)");
/** What npm start says about its demo data; the console shows the deployment's note on every page. */
const DATASET_NOTE = "Demo data: a subset of MongoDB's sample_mflix (test).";
let mongo: TestMongo;
let service: TestService;
let worker: Worker | null = null;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every URL the browser asked for, and every error it reported (a CSP violation is one). */
const requested: string[] = [];
const browserErrors: string[] = [];
let reportId: string;

const timing = process.env.TEST_TIMING ? (label: string) => process.stderr.write(`[${new Date().toISOString()}] ${label}\n`) : () => {};
test.before.each(() => {
  timing("test starts");
});

test.before(async () => {
  timing("before");
  mkdirSync(SCREENSHOTS, { recursive: true });
  mongo = await startTestMongo("console");
  // No worker at first: the test starts one once the browser shows the request pending, so the
  // live status change is certain to happen in front of it. One row per chunk makes every-comment
  // slow enough to cancel while it runs.
  service = await startTestService(mongo, {
    worker: false,
    config: { reportsDirs: [FIXTURE_REPORTS], rowsPerChunk: 1, datasetNote: DATASET_NOTE },
  });
  timing("service started");
  await loadMflix(service.context.database.db, ["movies", "comments"]);
  timing("data loaded");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  page.on("request", (request) => requested.push(request.url()));
  page.on("pageerror", (error) => browserErrors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") browserErrors.push(`console: ${message.text()}`);
  });
});

test.after(async () => {
  await browser?.close();
  await worker?.stop();
  await service?.close();
  await mongo?.stop();
});

/** axe-core on the current page: no serious or critical violation. Returns the counts by impact. */
async function checkAccessibility(target: Page, name: string): Promise<Record<string, number>> {
  // Evaluated through the DevTools protocol, so the page's Content-Security-Policy stays in force.
  await target.evaluate(AXE_SOURCE);
  const violations = await target.evaluate(async () => {
    const result = await (window as any).axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
  const bad = violations.filter((v: { impact: string }) => v.impact === "serious" || v.impact === "critical");
  assert.equal(bad, [], `${name}: serious or critical accessibility violations`);
  const counts: Record<string, number> = {};
  for (const v of violations) counts[v.impact] = (counts[v.impact] ?? 0) + 1;
  timing(`axe-core on ${name}: ${JSON.stringify(violations)}`);
  return counts;
}

const shoot = (target: Page, name: string) => target.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
const badge = () => page.locator(".status-line .badge");
const caption = () => page.locator("#rows-caption");

/** RFC 4180 records (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i++;
    } else field += c;
  }
  if (field !== "" || record.length) {
    record.push(field);
    records.push(record);
  }
  return records;
}

test("the page and its assets come from the API: revalidated page, immutable hashed assets, gzip", async () => {
  const first = await fetch(`${service.url}/`);
  assert.is(first.status, 200);
  assert.match(first.headers.get("content-type") ?? "", /text\/html/);
  assert.is(first.headers.get("cache-control"), "no-cache");
  assert.match(first.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  const html = await first.text();
  const again = await fetch(`${service.url}/`, { headers: { "If-None-Match": first.headers.get("etag")! } });
  assert.is(again.status, 304);
  const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(
    references.every((url) => url.startsWith("/") || url.startsWith("data:")),
    `only this origin: ${references}`,
  );
  const assets = references.filter((url) => url.startsWith("/console/"));
  assert.is(assets.length, 2, html);
  for (const asset of assets) {
    assert.match(asset, /^\/console\/[a-z]+-[A-Z0-9]{8}\.(js|css)$/);
    const response = await fetch(`${service.url}${asset}`, { headers: { "Accept-Encoding": "gzip" } });
    assert.is(response.status, 200, asset);
    assert.is(response.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.is(response.headers.get("content-encoding"), "gzip");
    assert.ok((await response.text()).length > 1000);
  }
  assert.is((await fetch(`${service.url}/console/app-NOTBUILT.js`)).status, 404);
});

test("catalogue: every report with its description; search by name", async () => {
  const definitions = (await get(`${service.url}/v1/report-definitions`)).body.reports as { name: string }[];
  await page.goto(`${service.url}/`);
  await page.locator(".card").first().waitFor();
  assert.is(await page.locator(".card").count(), definitions.length);
  assert.is((await page.getByRole("note").textContent())?.trim(), DATASET_NOTE, "the data note is shown");
  await checkAccessibility(page, "catalogue");
  await shoot(page, "1-catalogue");
  // Keyboard: the search box takes the focus with Tab (after the skip link and the navigation), and shows it.
  await page.getByLabel("Search reports by name").focus();
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Tab");
  const outline = await page.evaluate(() => {
    const focused = document.activeElement as HTMLElement;
    return { id: focused.id, style: getComputedStyle(focused).outlineStyle };
  });
  assert.equal(outline, { id: "search", style: "solid" }, "the focused input is outlined");
  await page.getByLabel("Search reports by name").fill("directors");
  const matching = definitions.map((d) => d.name).filter((n) => n.includes("directors"));
  // The list re-renders after the input event: wait for it (the assertion says what was shown otherwise).
  await page
    .waitForFunction(
      (want) => JSON.stringify([...document.querySelectorAll(".card h2")].map((h) => h.textContent)) === want,
      JSON.stringify(matching),
      {
        timeout: 30_000,
      },
    )
    .catch(() => undefined);
  assert.equal(await page.locator(".card h2").allTextContents(), matching);
});

test("run top-directors-per-comment (comments > 5, a date range): live status, rows, paging, chart, CSV", async () => {
  await page.getByRole("link", { name: "top-directors-per-comment", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "top-directors-per-comment" }).waitFor();
  // The example is pre-filled; set the filters the way a person would.
  await page.getByLabel("comments lower bound operator").selectOption("$gt");
  await page.getByLabel("comments lower bound", { exact: true }).fill("5");
  await page.getByLabel("comment_date lower bound operator").selectOption("$gte");
  await page.getByLabel("comment_date lower bound", { exact: true }).fill("1995");
  await page.getByLabel("comment_date upper bound operator").selectOption("$lt");
  await page.getByLabel("comment_date upper bound", { exact: true }).fill("2021");
  await page.getByLabel("top", { exact: true }).fill("");
  await page.getByLabel("Both").check();
  await checkAccessibility(page, "run form");
  await shoot(page, "2-run-form");
  await page.getByRole("button", { name: "Run report" }).click();

  await page.waitForURL(/#\/requests\/[0-9a-f]{24}$/);
  reportId = page.url().slice(-24);
  const stored = await service.context.database.requests.findOne({});
  assert.equal(stored!.params, {
    comments: { $gt: 5 },
    comment_date: { $gte: new Date("1995-01-01T00:00:00Z"), $lt: new Date("2021-01-01T00:00:00Z") },
  });
  assert.is(stored!.output, "both");
  await badge().filter({ hasText: "pending" }).waitFor();
  await checkAccessibility(page, "watch");
  await shoot(page, "3-watch-pending");
  // Record every status the page shows from now on, and mark the document to detect a reload.
  await page.evaluate(() => {
    (window as any).seenStatuses = [document.querySelector(".status-line .badge")?.textContent];
    new MutationObserver(() => {
      const text = document.querySelector(".status-line .badge")?.textContent;
      const seen = (window as any).seenStatuses as string[];
      if (text && seen[seen.length - 1] !== text) seen.push(text);
    }).observe(document.querySelector("main")!, { subtree: true, childList: true, characterData: true });
  });
  worker = new Worker(service.context);
  worker.start();
  await badge().filter({ hasText: "completed" }).waitFor({ timeout: 60_000 });
  // The parameters in words, as the service read them (the year "1994" as a lower bound is the start of 1995).
  await page.getByText("comments: > 5 · comment_date: ≥ 1995-01-01 and < 2021-01-01", { exact: true }).waitFor();
  const seen = (await page.evaluate(() => (window as any).seenStatuses)) as string[];
  assert.is(seen[0], "pending");
  assert.is(seen.at(-1), "completed", `statuses shown: ${seen.join(" → ")} (the page was not reloaded: the record survived)`);

  // Rows: the table shows the API's first page, headers from the report's columns, numbers right-aligned.
  const api = (await get(`${service.url}/v1/reports/${reportId}?page=0&page_size=100`)).body;
  assert.ok(api.total_rows > 5, `need two pages of 5: ${api.total_rows} rows`);
  await caption()
    .filter({ hasText: `Rows 1–${Math.min(10, api.total_rows)} of ${api.total_rows}` })
    .waitFor();
  assert.equal(await page.locator("table thead th").allTextContents(), ["director", "comments", "movies"]);
  const cells = async () =>
    page.locator("table tbody tr").evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll("td")].map((td) => td.textContent)));
  const expected = (rows: any[]) => rows.map((r) => [r.director, r.comments.toLocaleString("en"), r.movies.toLocaleString("en")]);
  assert.equal(await cells(), expected(api.rows.slice(0, 10)));
  assert.is(
    await page
      .locator("table tbody td.num")
      .first()
      .evaluate((td) => getComputedStyle(td).textAlign),
    "right",
  );

  // Paging on the server: five rows a page, then the second page.
  await page.getByLabel("Rows per page").selectOption("5");
  await caption()
    .filter({ hasText: `Rows 1–5 of ${api.total_rows}` })
    .waitFor();
  await page.getByRole("button", { name: "Next page" }).click();
  await caption()
    .filter({ hasText: `Rows 6–${Math.min(10, api.total_rows)} of ${api.total_rows}` })
    .waitFor();
  assert.equal(await cells(), expected(api.rows.slice(5, 10)));

  // Chart: a bar chart (directors are labels, comments numbers) actually drawn on the canvas.
  const canvas = page.locator("canvas[data-kind=bar]");
  await canvas.waitFor();
  await page.waitForFunction(() => {
    const c = document.querySelector<HTMLCanvasElement>("canvas");
    if (!c || c.width === 0) return false;
    const pixels = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
    return false;
  });
  await checkAccessibility(page, "results");
  await shoot(page, "4-results");

  // Download: the CSV the browser saves holds exactly the API's rows.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download CSV" }).click()]);
  const csv = parseCsv(readFileSync(await download.path(), "utf8"));
  assert.equal(csv[0], api.columns);
  assert.equal(
    csv.slice(1),
    api.rows.map((r: any) => [r.director, String(r.comments), String(r.movies)]),
  );
});

test("a value only the server can judge: its message appears next to the field", async () => {
  // every-comment's name must not be blank: a rule its JSON Schema cannot carry, so the browser sends it.
  await page.goto(`${service.url}/#/run/every-comment`);
  await page.getByLabel("name", { exact: true }).fill("   ");
  const sent = requested.length;
  await page.getByRole("button", { name: "Run report" }).click();
  const message = page.locator('.field-error[data-field="name"]');
  await message.waitFor();
  assert.ok(
    requested.slice(sent).some((url) => url.endsWith("/v1/reports")),
    "the form was sent",
  );
  // The same body straight to the API: the console shows the server's own words.
  const problem = await post(`${service.url}/v1/reports`, { report_name: "every-comment", name: "   " });
  assert.is(problem.status, 400);
  assert.is(problem.body.errors[0].field, "name");
  assert.is(await message.textContent(), problem.body.errors[0].message);
  assert.is(await page.getByLabel("name", { exact: true }).getAttribute("aria-invalid"), "true");
  await checkAccessibility(page, "run form with a server error");
  await shoot(page, "5-run-server-error");

  // What the schema rules out is caught in the browser, next to the bound at fault, before anything is sent.
  await page.goto(`${service.url}/#/run/top-directors-per-comment`);
  await page.getByLabel("comment_date lower bound", { exact: true }).fill("2021-13-45");
  await page.getByLabel("top", { exact: true }).fill("0");
  // A tag input by keyboard: Enter adds a value, Backspace in the empty box removes the last one.
  const exclude = page.getByLabel("Exclude directors", { exact: true });
  await exclude.fill("John Ford");
  await exclude.press("Enter");
  await exclude.fill("King Vidor");
  await exclude.press("Enter");
  assert.equal(await page.locator(".tags li").allTextContents(), ["John Ford×", "King Vidor×"]);
  await exclude.press("Backspace");
  assert.equal(await page.locator(".tags li").allTextContents(), ["John Ford×"]);
  await page.getByRole("button", { name: "Remove John Ford" }).click();
  assert.is(await page.locator(".tags li").count(), 0);
  const before = requested.length;
  await page.getByRole("button", { name: "Run report" }).click();
  await page.locator('.field-error[data-field="top"]').filter({ hasText: "must be at least 1" }).waitFor();
  await page.locator('.field-error[data-field="comment_date"]').filter({ hasText: "$gt" }).waitFor();
  assert.is(await page.getByLabel("comment_date lower bound", { exact: true }).getAttribute("aria-invalid"), "true");
  assert.is(
    await page.getByLabel("comment_date upper bound", { exact: true }).getAttribute("aria-invalid"),
    null,
    "only the bound at fault",
  );
  assert.not.ok(
    requested.slice(before).some((url) => url.endsWith("/v1/reports")),
    "nothing sent",
  );
  await shoot(page, "5b-run-client-check");
});

test("cancel a running request from its page", async () => {
  await page.goto(`${service.url}/#/run/every-comment`);
  await page.getByRole("button", { name: "Run report" }).click();
  await page.waitForURL(/#\/requests\/[0-9a-f]{24}$/);
  const id = page.url().slice(-24);
  await badge().filter({ hasText: "running" }).waitFor({ timeout: 30_000 });
  // A long report shows a clock, so it never looks frozen.
  await page
    .locator(".elapsed")
    .filter({ hasText: /^Running for \d+ (s|min)/ })
    .waitFor();
  await page.getByRole("button", { name: "Cancel request" }).click();
  await badge().filter({ hasText: "cancelled" }).waitFor();
  assert.is((await get(`${service.url}/v1/reports/${id}`)).body.status, "cancelled");
  assert.is(await page.getByRole("button", { name: "Cancel request" }).count(), 0, "no cancel button once cancelled");
  await shoot(page, "6-cancelled");
});

test("history lists all of it, newest first, filterable by report and status", async () => {
  await page.goto(`${service.url}/#/history`);
  const rows = page.locator("table.history tbody tr");
  const reportsShown = async () => rows.evaluateAll((trs) => trs.map((tr) => [tr.children[1].textContent, tr.children[2].textContent]));
  /**
   * Waits until the table lists exactly `expected`, then asserts it. A filter change keeps the
   * previous table on screen until the new answer renders, and the previous table may already
   * hold the row a test would wait for: so wait for the whole list, not for one row.
   */
  const assertListed = async (expected: string[][]) => {
    await page
      .waitForFunction(
        (want) =>
          JSON.stringify(
            [...document.querySelectorAll("table.history tbody tr")].map((tr) => [tr.children[1].textContent, tr.children[2].textContent]),
          ) === want,
        JSON.stringify(expected),
        { timeout: 30_000 },
      )
      .catch(() => undefined); // the assertion below says what was listed instead
    assert.equal(await reportsShown(), expected);
  };
  await assertListed([
    ["every-comment", "cancelled"],
    ["top-directors-per-comment", "completed"],
  ]);
  assert.is(
    (await rows.filter({ hasText: "top-directors-per-comment" }).locator("td.params").textContent())?.trim(),
    "comments: > 5 · comment_date: ≥ 1995-01-01 and < 2021-01-01",
  );
  await checkAccessibility(page, "history");
  await shoot(page, "7-history");
  await page.getByLabel("Status").selectOption("completed");
  await assertListed([["top-directors-per-comment", "completed"]]);
  await page.getByLabel("Status").selectOption("");
  await page.getByLabel("Report").selectOption("every-comment");
  await assertListed([["every-comment", "cancelled"]]);
});

test("a JSON run's rows become a CSV file in one click: the same report and parameters, output csv", async () => {
  const submitted = await post(`${service.url}/v1/reports`, { report_name: "top-directors-per-comment", top: 3 });
  const jsonId = submitted.body.id as string;
  await get(`${service.url}/v1/reports/${jsonId}?wait=30`);
  await page.goto(`${service.url}/#/requests/${jsonId}`);
  await page.getByRole("button", { name: "Make a CSV of these rows" }).click();
  await page.waitForURL((url) => /#\/requests\/[0-9a-f]{24}$/.test(url.hash) && !url.hash.endsWith(jsonId));
  const csvId = page.url().slice(-24);
  await page.getByRole("link", { name: "Download CSV" }).waitFor({ timeout: 60_000 });
  const [json, csv] = await Promise.all([jsonId, csvId].map((id) => service.context.database.requests.findOne({ _id: new ObjectId(id) })));
  assert.is(csv!.output, "csv");
  assert.equal(csv!.params, json!.params);
});

test("a long poll answered without waiting (past the service's cap per key) is followed by the pause Retry-After asks for", async () => {
  const id = await insertHeldRequest(service.context.database.requests);
  // A page of its own: the 502s below are not the main page's browser errors.
  const other = await context.newPage();
  let polls = 0;
  try {
    await other.route("**/events", (route) => route.fulfill({ status: 502, body: "no streaming here" }));
    await other.route(/[?&]wait=/, async (route) => {
      polls++;
      // What a key holding MAX_LONG_POLLS_PER_KEY waiting reads gets: the read at once, no Preference-Applied.
      const answer = await route.fetch({
        url: route
          .request()
          .url()
          .replace(/wait=\d+/, "wait=0"),
      });
      assert.is(answer.headers()["preference-applied"], undefined);
      await route.fulfill({ response: answer, headers: { ...answer.headers(), "retry-after": "30" } });
    });
    await other.goto(`${service.url}/#/requests/${id}`);
    await other.locator(".status-line .badge").filter({ hasText: "pending" }).waitFor();
    await eventually(async () => (polls > 0 ? true : undefined), 30_000);
    // Without the pause the page polls again at once, hundreds of times in these seconds.
    await other.waitForTimeout(3_000);
    assert.is(polls, 1, "one long poll, then the 30 s pause");
  } finally {
    await other.close();
  }
});

test("every request the pages made stayed on this service, and the browser reported no error", () => {
  const elsewhere = requested.filter((url) => !url.startsWith(service.url) && !url.startsWith("data:") && !url.startsWith("blob:"));
  assert.equal(elsewhere, []);
  // The one error a browser logs on its own: the 400 the server-error test asked for.
  assert.equal(
    browserErrors.filter((e) => !e.includes("status of 400")),
    [],
  );
});

test("with API keys on, the console asks for a key once per tab and never puts it in a URL", async () => {
  const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");
  const keyed = await startTestService(mongo, { worker: false, config: { apiKeys: parseApiKeys(`carol:${sha256("carol-secret")}`) } });
  const tab = await context.newPage();
  const urls: string[] = [];
  tab.on("request", (request) => urls.push(request.url()));
  try {
    await tab.goto(`${keyed.url}/#/history`);
    // Without a key the history says why, once: a 401 does not make the page ask again and again.
    await tab.getByRole("alert").filter({ hasText: "Unauthorized" }).waitFor();
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.is(urls.filter((url) => url.includes("/v1/reports?")).length, 1, "one history request without a key");
    await tab.getByLabel("API key", { exact: true }).fill("carol-secret");
    await checkAccessibility(tab, "key prompt");
    await shoot(tab, "8-api-key");
    await tab.getByRole("button", { name: "Use this key" }).click();
    await tab.getByText("No requests yet").waitFor();
    await tab.reload();
    await tab.getByText("No requests yet").waitFor();
    assert.is(await tab.getByLabel("API key", { exact: true }).count(), 0, "the tab kept the key");
    assert.not.ok(
      urls.some((url) => url.includes("carol-secret")),
      "the key never appears in a URL",
    );
  } finally {
    await tab.close();
    await keyed.close();
  }
});

test("/docs renders the OpenAPI document from files this service serves", async () => {
  const tab = await context.newPage();
  const urls: string[] = [];
  tab.on("request", (request) => urls.push(request.url()));
  try {
    await tab.goto(`${service.url}/docs`);
    // Swagger UI takes its time over the whole document on a busy machine (20 s seen here).
    await tab.locator(".opblock").first().waitFor({ timeout: 60_000 });
    const paths = await tab.locator(".opblock-summary-path").evaluateAll((spans) => spans.map((span) => span.getAttribute("data-path")));
    assert.ok(paths.includes("/v1/reports/{id}/csv"), paths.join(" "));
    // Swagger UI's own colours are darkened by /docs/contrast.css to pass.
    await checkAccessibility(tab, "docs");
    assert.equal(
      urls.filter((url) => !url.startsWith(service.url) && !url.startsWith("data:")),
      [],
    );
    await shoot(tab, "9-docs");
  } finally {
    await tab.close();
  }
});

test.run();
