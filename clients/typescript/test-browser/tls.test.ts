// The TypeScript SDK in Chromium over wss://: the real server serves TLS with a certificate a
// private CA issued at test time, and Chromium trusts exactly that certificate's key
// (`--ignore-certificate-errors-spki-list`, never a blanket ignore). The example page connects
// over wss:// and a seat flow works; a server presenting another certificate is refused in the
// TLS handshake (the server counts it) and the page says the connection failed.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { CoGuestError } from "../src/index.js";
import { TestCa, spkiHash, writePem } from "../test/certs.js";
import { PACKAGE_DIR, TestServer, WAIT_MS, sleep } from "../test/support.js";
import { launchChromium, openExample, serveStatic, type Chromium } from "./chromium.js";

describe("in Chromium over wss://", () => {
  let certDir: string;
  /** Serves the certificate Chromium trusts. */
  let server: TestServer;
  /** Serves a certificate of another key, from another CA. */
  let impostor: TestServer;
  let http: Server;
  let httpPort: number;
  let chromium: Chromium;
  const errors: string[] = [];

  before(async () => {
    assert.ok(existsSync(join(PACKAGE_DIR, "dist/index.js")), "the package is built (npm run build)");
    certDir = mkdtempSync(join(tmpdir(), "coguest-certs-"));
    const ca = TestCa.create();
    const trusted = ca.issue();
    server = await TestServer.start([], { ...writePem(certDir, "server", trusted), ca: ca.cert });
    const other = TestCa.create("another CA");
    impostor = await TestServer.start([], { ...writePem(certDir, "impostor", other.issue()), ca: other.cert });
    [http, httpPort] = await serveStatic(PACKAGE_DIR);
    chromium = await launchChromium([`--ignore-certificate-errors-spki-list=${spkiHash(trusted.cert)}`]);
  });

  after(async () => {
    await chromium?.close();
    http?.close();
    await server?.stop();
    await impostor?.stop();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  const open = (on: TestServer, user: string, role: "owner" | "audience", into = errors, status?: RegExp): Promise<Page> =>
    openExample(
      chromium.browser,
      `http://127.0.0.1:${httpPort}`,
      { server: on.url, room: "tls_room", token: on.token(user, role) },
      user,
      into,
      status,
    );

  test("the example page over wss://: apply, accept, seated", async () => {
    assert.match(server.url, /^wss:\/\//);
    const host = await open(server, "host_1", "owner");
    const guest = await open(server, "user_456", "audience");
    assert.equal(await host.getByTestId("me").textContent(), "as host_1 (owner) in tls_room");

    await host.getByTestId("invite-user_456").waitFor();
    await guest.getByTestId("apply").click();
    await host.getByTestId("log").getByText("application from user_456: hi").waitFor();
    await host.getByTestId("accept-user_456").click();
    await guest.getByTestId("log").getByText("application accepted by host_1").waitFor();
    for (const page of [host, guest]) {
      await page.getByTestId("connected").getByText("seat 1: User_456 (audience)").waitFor();
    }
    // Both connections went through TLS: the server has no plain listener.
    const [, metrics] = await server.get("/metrics");
    assert.match(metrics, /^coguest_connections 2$/m);
    assert.deepEqual(errors, [], "no console error");
    await host.close();
    await guest.close();
  });

  test("a certificate Chromium does not trust: refused in the handshake, the page says so", async () => {
    const refusals = async (): Promise<number> => {
      const [, metrics] = await impostor.get("/metrics");
      const line = /^coguest_edge_refused_total\{reason="tls"\} (\d+)$/m.exec(metrics);
      return line === null ? 0 : Number(line[1]);
    };
    const before = await refusals();
    const pageErrors: string[] = [];
    const page = await open(impostor, "host_2", "owner", pageErrors, /^failed: /);
    const status = (await page.getByTestId("status").textContent()) ?? "";
    assert.ok(status.endsWith(`(code ${CoGuestError.CONNECT_FAILED})`), status);
    // Chromium's own console line names the reason; the SDK cannot see it (browsers hide it).
    assert.ok(pageErrors.some((e) => e.includes("ERR_CERT_AUTHORITY_INVALID")), pageErrors.join("\n"));
    // Chromium aborted the TLS handshake (the server may count it a moment after the page
    // gave up): no request reached the server.
    const until = Date.now() + WAIT_MS;
    while ((await refusals()) === before) {
      assert.ok(Date.now() < until, 'coguest_edge_refused_total{reason="tls"} did not go up');
      await sleep(20);
    }
    const [, metrics] = await impostor.get("/metrics");
    assert.match(metrics, /^coguest_connections 0$/m);
    await page.close();
  });
});
