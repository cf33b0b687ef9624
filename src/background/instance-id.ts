/**
 * Who holds a lease, a delivery or a lock: host, process and a random suffix, so two services in
 * one process (or a restarted process with a reused pid) never pass for each other.
 */
import { hostname } from "node:os";
import process from "node:process";

export function instanceId(part?: string): string {
  const suffix = Math.random().toString(36).slice(2, 8);
  return [hostname(), process.pid, ...(part ? [part] : []), suffix].join(":");
}
