// Shared set-up of the browser tests: Debian's Chromium driven by playwright-core (nothing is
// downloaded) with a throw-away profile, and a static file server for pages that load the
// built package (browsers load ES modules only over HTTP).

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { chromiumPath } from "../test/support.js";

/** A running Chromium and what closes it (the browser, then its profile directory). */
export interface Chromium {
  readonly browser: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a new profile; `args` are extra command-line switches.
 * A persistent context, because some switches (`--ignore-certificate-errors-spki-list`)
 * take effect only with a `--user-data-dir`.
 */
export async function launchChromium(args: string[] = [], viewport?: { width: number; height: number }): Promise<Chromium> {
  const executablePath = chromiumPath();
  const userDataDir = mkdtempSync(join(tmpdir(), "coguest-chromium-"));
  try {
    const browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      ...(viewport === undefined ? {} : { viewport }),
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        ...args,
      ],
    });
    return {
      browser,
      async close() {
        await browser.close();
        rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css",
  ".json": "application/json",
};

/** Serves `root` over HTTP on a free loopback port, like `python3 -m http.server`; the server and its port. */
export async function serveStatic(root: string): Promise<[Server, number]> {
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

/** Where and as whom the SDK's example page connects. */
export interface ExampleParams {
  /** The server's base URL (`ws://` or `wss://`). */
  server: string;
  room: string;
  token: string;
}

/**
 * Opens the SDK's example page (`examples/index.html`, served at `base`) in a new tab and waits
 * until its status matches `status` (by default: exactly "connected"). Console errors and page
 * errors go to `errors`, prefixed by `label`.
 */
export async function openExample(
  browser: BrowserContext,
  base: string,
  params: ExampleParams,
  label: string,
  errors: string[],
  status: RegExp = /^connected$/,
): Promise<Page> {
  const page = await browser.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`${label}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`${label}: ${e.message}`));
  await page.goto(`${base}/examples/index.html?${new URLSearchParams({ ...params })}`);
  await page.getByTestId("status").filter({ hasText: status }).waitFor();
  return page;
}
