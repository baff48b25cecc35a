// What the other tests need, as tests of their own: a missing binary or browser is a failure
// with a clear message, never a skip.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chromiumPath, coguestBin } from "./support.js";

test("the coguest binary is present and runs", () => {
  const out = execFileSync(coguestBin(), ["--help"]).toString();
  assert.match(out, /serve/);
});

test("Chromium is present (for the browser test)", () => {
  chromiumPath();
});
