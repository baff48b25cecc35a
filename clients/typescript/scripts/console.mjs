// Builds the web console (clients/console: TypeScript on this SDK, a page and a stylesheet)
// into the bundle the server embeds (crates/coguest-server/console: index.html, app.js,
// app.css), which is committed so that `cargo run -- serve` needs no Node.
//
//   node scripts/console.mjs           writes the bundle
//   node scripts/console.mjs --check   builds into a temporary directory and fails on any
//                                      difference from the committed bundle (stale)
import { build } from "esbuild";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const src = join(repo, "clients/console");
const committed = join(repo, "crates/coguest-server/console");
const check = process.argv.includes("--check");
const out = check ? mkdtempSync(join(tmpdir(), "coguest-console-")) : committed;
const FILES = ["index.html", "app.js", "app.css"];

try {
  mkdirSync(out, { recursive: true });
  await build({
    absWorkingDir: repo,
    entryPoints: ["clients/console/src/main.ts"],
    outfile: join(out, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    // The SDK loads `ws` only where there is no WebSocket (Node), never in a browser.
    external: ["ws"],
    minify: false,
    legalComments: "none",
    charset: "utf8",
    banner: {
      js: "// GENERATED from clients/console by clients/typescript/scripts/console.mjs (`npm run build:console`). Do not edit.",
    },
    logLevel: "warning",
  });
  copyFileSync(join(src, "index.html"), join(out, "index.html"));
  copyFileSync(join(src, "app.css"), join(out, "app.css"));
  if (check) {
    const stale = FILES.filter((f) => {
      let old = null;
      try {
        old = readFileSync(join(committed, f));
      } catch {
        return true;
      }
      return !old.equals(readFileSync(join(out, f)));
    });
    if (stale.length > 0) {
      console.error(
        `the committed console bundle is stale (${stale.join(", ")} in crates/coguest-server/console): ` +
          "run `npm run build:console` in clients/typescript and commit it",
      );
      process.exit(1);
    }
    console.log("the console bundle is up to date");
  } else {
    console.log(`wrote ${FILES.map((f) => join("crates/coguest-server/console", f)).join(", ")}`);
  }
} finally {
  if (check) rmSync(out, { recursive: true, force: true });
}
