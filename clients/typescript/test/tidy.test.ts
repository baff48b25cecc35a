// Tidy checks on the package itself: module imports go one way (no cycles), the error table
// matches PROTOCOL.md's, every public item has TSDoc, and `exports` points at the build.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CoGuestError, ErrorCode } from "../src/index.js";
import { PACKAGE_DIR, REPO_DIR } from "./support.js";

const SRC = join(PACKAGE_DIR, "src");
const sources = (): Map<string, string> =>
  new Map(
    readdirSync(SRC)
      .filter((f) => f.endsWith(".ts"))
      .map((f) => [f, readFileSync(join(SRC, f), "utf8")]),
  );

describe("tidy", () => {
  test("module imports go one way: no cycles, type imports included", () => {
    const graph = new Map<string, string[]>();
    for (const [file, text] of sources()) {
      const deps = [...text.matchAll(/from\s+"\.\/([\w-]+)\.js"/g)].map((m) => `${m[1]}.ts`);
      graph.set(file, deps);
    }
    const state = new Map<string, "visiting" | "done">();
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === "done") return;
      assert.notEqual(state.get(f), "visiting", `import cycle: ${[...path, f].join(" -> ")}`);
      state.set(f, "visiting");
      for (const d of graph.get(f) ?? []) {
        assert.ok(graph.has(d), `${f} imports a missing module ${d}`);
        visit(d, [...path, f]);
      }
      state.set(f, "done");
    };
    for (const f of graph.keys()) visit(f, []);
  });

  test("ErrorCode is PROTOCOL.md's error table, and the SDK's codes do not clash with it", () => {
    const doc = readFileSync(join(REPO_DIR, "PROTOCOL.md"), "utf8");
    const table = [...doc.matchAll(/^\| (-\d+) \| `([A-Z_]+)` \|/gm)].map((m) => [m[2], Number(m[1])]);
    assert.ok(table.length > 30, "found PROTOCOL.md's error table");
    assert.deepEqual(Object.entries(ErrorCode), table);
    const sdk = [
      CoGuestError.CONNECT_FAILED,
      CoGuestError.CLOSED,
      CoGuestError.TIMEOUT,
      CoGuestError.OUTCOME_UNKNOWN,
      CoGuestError.UNAUTHORIZED,
      CoGuestError.PROTOCOL,
      CoGuestError.ROOM_CLOSED,
      CoGuestError.INVALID_URL,
    ];
    assert.deepEqual(sdk, [-4100, -4101, -4102, -4103, -4104, -4105, -4106, -4107], "the Rust SDK's numbers");
    for (const code of sdk) assert.ok(!Object.values(ErrorCode).includes(code as never));
    const e = new CoGuestError(-2311, "no pending application");
    assert.equal(e.codeName, "REQUEST_ID_INVALID");
    assert.equal(String(e), "CoGuestError: no pending application (code -2311)");
    assert.ok(e instanceof Error);
  });

  test("every exported item and public member has TSDoc", () => {
    const missing: string[] = [];
    for (const [file, text] of sources()) {
      if (file === "wire.ts") continue; // generated, with the schema's descriptions
      const lines = text.split("\n");
      // Members of public classes; classes marked `@internal` are not part of the surface.
      let inClass = false;
      lines.forEach((line, i) => {
        if (/^export (abstract )?class /.test(line)) {
          let k = i - 1;
          while (k >= 0 && !/\/\*\*/.test(lines[k] ?? "")) k--;
          inClass = !lines.slice(Math.max(k, 0), i).join("\n").includes("@internal");
        } else if (/^}/.test(line)) inClass = false;
        const exported = /^export (async )?(function|class|interface|type|const|abstract class) (?!\{)/.test(line);
        const member =
          inClass &&
          /^ {2}(static |readonly |get |async |override )*[a-zA-Z]\w*\s*[(<:=]/.test(line) &&
          !/^ {2}(private|#)/.test(line);
        if (!exported && !member) return;
        let j = i - 1;
        while (j >= 0 && /^\s*@|^\s*$/.test(lines[j] ?? "")) j--;
        if (!/\*\/\s*$/.test(lines[j] ?? "")) missing.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(missing, []);
  });

  test("package.json exports the ESM build and its types", () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8"));
    assert.equal(pkg.name, "coguest-client");
    assert.equal(pkg.type, "module");
    assert.deepEqual(pkg.exports["."], { types: "./dist/index.d.ts", import: "./dist/index.js" });
    assert.deepEqual(pkg.exports["./server"], { types: "./dist/server/index.d.ts", import: "./dist/server/index.js" });
    // No framework: `ws` for Node's WebSocket, `jose` for the server entry's tokens.
    assert.deepEqual(Object.keys(pkg.dependencies), ["jose", "ws"], "no framework dependency");
  });

  test("the browser entry never imports the server entry (secrets, jose)", () => {
    const offenders = readdirSync(join(PACKAGE_DIR, "src"))
      .filter((f) => f.endsWith(".ts"))
      .filter((f) => /from "(\.\/server\/|jose)/.test(readFileSync(join(PACKAGE_DIR, "src", f), "utf8")));
    assert.deepEqual(offenders, []);
  });
});
