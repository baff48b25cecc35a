// Measures the SDK as an application ships it: dist/index.js and its imports bundled into one
// minified ES module (the `ws` package left out: browsers never load it), then gzipped.
//
//   node scripts/size.mjs           prints the sizes
//   node scripts/size.mjs --check   also fails if README.md's stated gzipped size is more than 5%
//                                   off the build's
import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";

const pkg = new URL("../", import.meta.url);
const result = await build({
  entryPoints: [new URL("dist/index.js", pkg).pathname],
  bundle: true,
  minify: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  external: ["ws"],
  write: false,
  logLevel: "silent",
});
const code = result.outputFiles[0].contents;
const gzipped = gzipSync(code, { level: 9 }).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`minified: ${code.length} bytes (${kib(code.length)}); minified+gzipped: ${gzipped} bytes (${kib(gzipped)})`);

if (process.argv.includes("--check")) {
  const readme = readFileSync(new URL("README.md", pkg), "utf8");
  const stated = /minified\+gzipped: \*\*([\d.]+) KiB\*\*/.exec(readme)?.[1];
  if (stated === undefined || Math.abs(Number(stated) * 1024 - gzipped) > gzipped * 0.05) {
    console.error(`README.md states ${stated ?? "no"} KiB minified+gzipped; the build is ${kib(gzipped)}: update it`);
    process.exit(1);
  }
}
