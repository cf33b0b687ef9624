/**
 * Report aggregations read where REPORT_READ_PREFERENCE (and its tags and staleness bound) say,
 * and each request records what its run used. (On the test server, one node, every preference
 * lands on that node: where the reads go on a replica set is checked by real-mongodb.test.ts.)
 */
import { suite } from "../support/suite.ts";
import * as assert from "uvu/assert";
import { startTestMongo, type TestMongo } from "../support/mongo.ts";
import { startTestService, type TestService } from "../support/service.ts";
import { submitAndWait } from "../support/http.ts";
import { loadMflix } from "../support/mflix.ts";

const test = suite("report reads");
let mongo: TestMongo;
let service: TestService;
const tags: Record<string, string>[] = [{ nodeType: "ANALYTICS" }, {}];

test.before(async () => {
  mongo = await startTestMongo("report_reads");
  service = await startTestService(mongo, {
    config: { reportReadPreference: "secondaryPreferred", reportReadTags: tags, reportMaxStalenessS: 120, reuseWindowMs: 0 },
  });
  await loadMflix(service.context.database.db, ["movies"]);
});

test.after(async () => {
  await service?.close();
  await mongo?.stop();
});

test("a request records the read preference, tag sets and staleness its report ran with", async () => {
  const done = await submitAndWait(service.url, { report_name: "top-movies-per-rating", rating: { $gt: 8 } });
  assert.is(done.status, "completed", JSON.stringify(done));
  const read = { preference: "secondaryPreferred", tags, max_staleness_s: 120 };
  assert.equal(done.read, read, "in the API's answer");
  const stored = await service.context.database.requests.findOne({ report_name: "top-movies-per-rating" });
  assert.equal(stored?.read, read, "on the request document");
});

test.run();
