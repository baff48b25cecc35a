// What both code generators share: write a generated file, or (`--check`) fail when the committed
// one differs from what the generator makes now.
import { readFileSync, writeFileSync } from "node:fs";

/**
 * Writes `text` to `outPath`, or with `--check` on the command line compares it with the file and
 * exits 1 naming `source` and the command that regenerates it.
 */
export function writeOrCheck(outPath, text, { name, source, fix }) {
  if (!process.argv.includes("--check")) {
    writeFileSync(outPath, text);
    console.log(`wrote ${outPath}`);
    return;
  }
  let committed = "";
  try {
    committed = readFileSync(outPath, "utf8");
  } catch {
    // Missing: stale.
  }
  if (committed !== text) {
    console.error(`${name} is stale: it differs from what ${source} generates.\nRun \`${fix}\` in clients/typescript and commit the result.`);
    process.exit(1);
  }
  console.log(`${name} is up to date with ${source}`);
}
