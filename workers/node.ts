// Worker entry point for Node.js (run the compiled file: `node dist/workers/node.js`).
import process from "node:process";
import { runWorkerProcess } from "../src/main/worker.ts";

await runWorkerProcess({
  name: "node",
  onSignal: (signal, handler) => process.on(signal, handler),
  exit: (code) => process.exit(code),
});
