/**
 * Counts the long-lived requests each caller holds open in this API process (event streams,
 * `wait=` long polls), up to a cap: one key cannot hold sockets, timers and change-stream
 * listeners without end. A caller is its API key's name, or its client address where keys are off.
 * What a refused caller gets (a 429, or an answer that does not wait) is the route's decision.
 */
import type { Context } from "koa";
import { callerName } from "./access.ts";

/** Gives a slot back; calling it again does nothing, so every way a request ends may call it. */
export type ReleaseSlot = () => void;

export class CallerSlots {
  private readonly held = new Map<string, number>();

  /** @param limit the slots one caller may hold at once; 0: no cap */
  constructor(readonly limit: number) {}

  /** A slot for this request's caller, or null when the caller already holds `limit`. */
  claim(ctx: Context): ReleaseSlot | null {
    const caller = callerOf(ctx);
    const count = this.held.get(caller) ?? 0;
    if (this.limit > 0 && count >= this.limit) return null;
    this.held.set(caller, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(caller) ?? 1) - 1;
      if (left <= 0) this.held.delete(caller);
      else this.held.set(caller, left);
    };
  }

  /** The slots this request's caller holds now. */
  heldBy(ctx: Context): number {
    return this.held.get(callerOf(ctx)) ?? 0;
  }
}

function callerOf(ctx: Context): string {
  return callerName(ctx) ?? `ip:${ctx.ip}`;
}
