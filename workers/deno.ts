// Worker entry point for Deno, run from source:
//   deno run --allow-net --allow-env --allow-read --allow-sys workers/deno.ts
import { runWorkerProcess } from "../src/worker/main.ts";

declare const Deno: {
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
  exit(code: number): never;
};

await runWorkerProcess({
  name: "deno",
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
  exit: (code) => Deno.exit(code),
});
