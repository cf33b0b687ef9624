/**
 * Where report aggregations read: the read preference, tag sets and staleness bound an operator
 * sets (REPORT_READ_PREFERENCE, REPORT_READ_TAGS, REPORT_MAX_STALENESS_S), so heavy reports can run
 * on secondaries or an analytics node (Atlas: `nodeType:ANALYTICS`) instead of competing with the
 * queue's writes on the primary. Only report aggregations use it: the queue (claims, leases,
 * statuses, rows) always reads and writes the primary.
 */
import { ReadPreference, type ReadPreferenceMode, type TagSet } from "mongodb";

export const READ_PREFERENCE_MODES = ["primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"] as const;

/** What a request records of where its report read (`read` on the request). */
export interface ReportRead {
  preference: ReadPreferenceMode;
  tags?: TagSet[];
  max_staleness_s?: number;
}

/**
 * REPORT_READ_TAGS: tag sets in order of preference, `;` between sets, `,` between a set's
 * `name:value` pairs; an empty set (a trailing `;`) means "any eligible member" as a last resort.
 * `nodeType:ANALYTICS` → [{nodeType: "ANALYTICS"}]; `dc:east,rack:1;dc:west;` → three sets.
 */
export function parseReadTags(text: string | undefined): TagSet[] | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  return text.split(";").map((set) => {
    const tags: TagSet = {};
    for (const pair of set.split(",").filter((p) => p.trim() !== "")) {
      const colon = pair.indexOf(":");
      if (colon < 1) throw new Error(`REPORT_READ_TAGS: "${pair.trim()}" is not name:value`);
      tags[pair.slice(0, colon).trim()] = pair.slice(colon + 1).trim();
    }
    return tags;
  });
}

/** The settings as a request records them; throws when they contradict each other (as the driver would at the first report). */
export function reportRead(preference: ReadPreferenceMode, tags?: TagSet[], maxStalenessSeconds?: number): ReportRead {
  if (preference === "primary" && (tags?.length || maxStalenessSeconds !== undefined)) {
    throw new Error("REPORT_READ_TAGS and REPORT_MAX_STALENESS_S need a REPORT_READ_PREFERENCE other than primary");
  }
  return {
    preference,
    ...(tags?.length ? { tags } : {}),
    ...(maxStalenessSeconds === undefined ? {} : { max_staleness_s: maxStalenessSeconds }),
  };
}

/** The driver's read preference for a report's aggregate. */
export function readPreferenceOf(read: ReportRead): ReadPreference {
  return new ReadPreference(
    read.preference,
    read.tags,
    read.max_staleness_s === undefined ? undefined : { maxStalenessSeconds: read.max_staleness_s },
  );
}
