// The published declarations (dist/index.d.ts, internals stripped) typecheck for a consumer
// that uses the public surface, in a browser project and in a Node one.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import { PACKAGE_DIR } from "./support.js";

const tsc = createRequire(join(PACKAGE_DIR, "package.json")).resolve("typescript/bin/tsc");
const consumer = join(PACKAGE_DIR, "test-fixtures/consumer.ts");

for (const [name, lib, resolution] of [
  ["browser", "ES2022,DOM", "bundler"],
  ["node", "ES2022", "nodenext"],
] as const) {
  test(`dist/index.d.ts typechecks for a ${name} consumer`, () => {
    assert.ok(existsSync(join(PACKAGE_DIR, "dist/index.d.ts")), "the package is built (npm run build)");
    const module = resolution === "bundler" ? "ES2022" : "NodeNext";
    const args = ["--noEmit", "--strict", "--target", "ES2022", "--module", module, "--moduleResolution", resolution];
    args.push("--lib", lib, "--types", "node", consumer);
    try {
      execFileSync(process.execPath, [tsc, ...args], { cwd: PACKAGE_DIR, stdio: "pipe" });
    } catch (e) {
      assert.fail(String((e as { stdout?: Buffer }).stdout ?? e));
    }
  });
}

test("dist/server/index.d.ts typechecks for a Node backend", () => {
  assert.ok(existsSync(join(PACKAGE_DIR, "dist/server/index.d.ts")), "the package is built (npm run build)");
  const backend = join(PACKAGE_DIR, "test-fixtures/backend.ts");
  const args = ["--noEmit", "--strict", "--target", "ES2022", "--module", "NodeNext", "--moduleResolution", "nodenext"];
  args.push("--lib", "ES2022", "--types", "node", backend);
  try {
    execFileSync(process.execPath, [tsc, ...args], { cwd: PACKAGE_DIR, stdio: "pipe" });
  } catch (e) {
    assert.fail(String((e as { stdout?: Buffer }).stdout ?? e));
  }
});
