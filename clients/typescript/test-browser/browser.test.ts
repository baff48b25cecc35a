// The built package inside Chromium (playwright-core driving the system's /usr/bin/chromium;
// nothing is downloaded): the example page opened twice, as a host and as an audience member,
// against the real server: apply -> accept -> seated -> kick. Any console error fails.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { PACKAGE_DIR, TestServer } from "../test/support.js";
import { launchChromium, openExample, serveStatic, type Chromium } from "./chromium.js";

describe("in Chromium", () => {
  let server: TestServer;
  let http: Server;
  let httpPort: number;
  let chromium: Chromium;
  const errors: string[] = [];

  before(async () => {
    assert.ok(existsSync(join(PACKAGE_DIR, "dist/index.js")), "the package is built (npm run build)");
    server = await TestServer.start();
    [http, httpPort] = await serveStatic(PACKAGE_DIR);
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
    http?.close();
    await server?.stop();
  });

  const open = (user: string, role: "owner" | "audience"): Promise<Page> =>
    openExample(chromium.browser, `http://127.0.0.1:${httpPort}`, { server: server.url, room: "browser_room", token: server.token(user, role) }, user, errors);

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
