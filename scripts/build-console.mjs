// Bundles the web console (src/console) into dist/console: JavaScript and CSS with content hashes
// in their names (so the API can let browsers cache them for a year), chart.js split into its own
// chunk that loads only when a chart is shown, and index.html pointing at the hashed files.
// Plain JavaScript, so it runs before (and without) the TypeScript build; type checking of the
// console is `tsc -p src/console/tsconfig.json` (npm run build:console does both).
import { build } from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const source = path.join(root, "src", "console");
const out = path.join(root, "dist", "console");

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { app: path.join(source, "main.tsx"), style: path.join(source, "style.css") },
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  target: ["es2020"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: out,
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs).map(([file, meta]) => ({ file: path.relative(out, path.join(root, file)), meta }));
const entry = (name, ext) => outputs.find((o) => o.meta.entryPoint && o.file.startsWith(`${name}-`) && o.file.endsWith(ext))?.file;
const appJs = entry("app", ".js");
const styleCss = entry("style", ".css");
if (!appJs || !styleCss) throw new Error(`console build: entry files missing in ${outputs.map((o) => o.file).join(", ")}`);

const template = await readFile(path.join(source, "index.html"), "utf8");
await writeFile(
  path.join(out, "index.html"),
  template.replaceAll("%APP_JS%", `/console/${appJs}`).replaceAll("%STYLE_CSS%", `/console/${styleCss}`),
);

// Sizes as shipped (gzip level 9, as the API serves them), so the README's numbers can be checked.
const sizes = {};
for (const { file } of outputs) {
  const bytes = await readFile(path.join(out, file));
  sizes[file] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}
const total = (filter) =>
  Object.entries(sizes)
    .filter(([file]) => filter(file))
    .reduce((sum, [, s]) => sum + s.gzip, 0);
const initialJs = sizes[appJs].gzip;
const chartJs = total((file) => file.endsWith(".js") && file !== appJs);
await writeFile(
  path.join(out, "sizes.json"),
  JSON.stringify({ files: sizes, gzip: { initialJs, chartJs, css: sizes[styleCss].gzip } }, null, 2),
);
console.log(
  `console: ${appJs} ${initialJs} B gzip (first load), chart chunk(s) ${chartJs} B gzip (on demand), ${styleCss} ${sizes[styleCss].gzip} B gzip`,
);
