/**
 * Request documents as a test inserts them straight into `report_requests`, on a fixed clock: for
 * the store's claim tests.
 */
import { ObjectId } from "mongodb";

/** 2026-01-01T00:00:00Z plus `seconds`. */
export const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

/** A pending request submitted at `at(seconds)`, with `extra` fields on top. */
export const pending = (seconds: number, extra: Record<string, unknown> = {}) => ({
  _id: new ObjectId(),
  report_name: "r",
  params: {},
  status: "pending",
  report_date: at(seconds),
  attempts: 0,
  lease: null,
  ...extra,
});
