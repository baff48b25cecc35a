// The built package inside Chromium (playwright-core driving the system's /usr/bin/chromium;
// nothing is downloaded): the example page opened twice, as a host and as an audience member,
// against the real server: apply -> accept -> seated -> kick. Any console error fails.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { PACKAGE_DIR, TestServer, chromiumPath } from "../test/support.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css",
  ".json": "application/json",
};

/** Serves the package directory over HTTP (browsers load ES modules only over HTTP), like `python3 -m http.server`. */
async function serveStatic(root: string): Promise<[Server, number]> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const file = join(root, path.endsWith("/") ? `${path}index.html` : path);
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return [server, address.port];
}

describe("in Chromium", () => {
  let server: TestServer;
  let http: Server;
  let httpPort: number;
  let userDataDir: string;
  let browser: BrowserContext;
  const errors: string[] = [];

  before(async () => {
    const executablePath = chromiumPath();
    assert.ok(existsSync(join(PACKAGE_DIR, "dist/index.js")), "the package is built (npm run build)");
    server = await TestServer.start();
    [http, httpPort] = await serveStatic(PACKAGE_DIR);
    userDataDir = mkdtempSync(join(tmpdir(), "coguest-chromium-"));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  after(async () => {
    await browser?.close();
    http?.close();
    await server?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  async function open(user: string, role: "owner" | "audience"): Promise<Page> {
    const page = await browser.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`${user}: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`${user}: ${e.message}`));
    const q = new URLSearchParams({ server: server.url, room: "browser_room", token: server.token(user, role) });
    await page.goto(`http://127.0.0.1:${httpPort}/examples/index.html?${q}`);
    await page.getByTestId("status").filter({ hasText: "connected" }).waitFor();
    return page;
  }

  test("host and audience tabs: apply, accept, seated, kick", async () => {
    const host = await open("host_1", "owner");
    const guest = await open("user_456", "audience");
    assert.equal(await host.getByTestId("me").textContent(), "as host_1 (owner) in browser_room");
    assert.equal(await guest.evaluate(() => typeof (globalThis as { WebSocket?: unknown }).WebSocket), "function");

    // The audience member applies; the host sees the application, in the list and the log.
    await host.getByTestId("invite-user_456").waitFor();
    await guest.getByTestId("apply").click();
    await host.getByTestId("log").getByText("application from user_456: hi").waitFor();
    await host.getByTestId("accept-user_456").click();

    // Seated, on both pages.
    await guest.getByTestId("log").getByText("application accepted by host_1").waitFor();
    for (const page of [host, guest]) {
      await page.getByTestId("connected").getByText("seat 1: User_456 (audience)").waitFor();
    }
    assert.equal(await host.getByTestId("applicants").locator("li").count(), 0);

    // The host kicks the guest off its seat.
    await host.getByTestId("kick-user_456").click();
    await guest.getByTestId("log").getByText("kicked off seat 1 by host_1").waitFor();
    for (const page of [host, guest]) {
      await page.getByTestId("connected").getByText("seat 1: User_456 (audience)").waitFor({ state: "detached" });
      assert.deepEqual(await page.getByTestId("connected").locator("li").allTextContents(), ["seat 0: Host_1 (owner)"]);
    }
    assert.deepEqual(errors, [], "no console error");
  });
});
