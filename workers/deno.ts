// Worker entry point for Deno, run from source:
//   deno run --allow-net --allow-env --allow-read --allow-write --allow-sys workers/deno.ts
// (--allow-write only for the local CSV sink; a GCS deployment does not need it)
import { runWorkerProcess } from "../src/main/worker.ts";

declare const Deno: {
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  exit(code: number): never;
};

await runWorkerProcess({
  name: "deno",
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
});
