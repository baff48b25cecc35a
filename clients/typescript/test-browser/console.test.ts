// The web console in Chromium (playwright-core driving the system's /usr/bin/chromium; nothing
// is downloaded), served by the real `coguest` binary at /console, against SDK clients in
// this process: sign-in (a wrong key refused), a room appearing live, an applicant with its
// timer, accept / kick / lock / close reaching the SDK clients, a refused action showing the
// server's code. Saves the screenshots of docs/. Any console error in the page fails, except
// the browser's own line for an HTTP refusal the test provokes (shown on the page instead).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Dialog, Page } from "playwright-core";
import { CoGuestStore, type Client } from "../src/index.js";
import { REPO_DIR, TestServer, eventually, ids, waitFor } from "../test/support.js";
import { launchChromium, type Chromium } from "./chromium.js";

const ROOM = "studio_7";

/** The browser's own report of a refused HTTP call (the page shows the refusal itself). */
const HTTP_REFUSAL = /^Failed to load resource: the server responded with a status of 4\d\d/;

describe("the web console in Chromium", () => {
  let server: TestServer;
  let chromium: Chromium;
  let page: Page;
  const clients: Client[] = [];
  /** The owner's store of the room, once created. */
  let owner: CoGuestStore;
  /** Frank's store (seated on seat 3 by the busy room's set-up). */
  let frank: CoGuestStore;
  const errors: string[] = [];
  const confirms: string[] = [];

  before(async () => {
    server = await TestServer.start();
    chromium = await launchChromium([], { width: 1280, height: 860 });
    page = await chromium.browser.newPage();
    page.on("console", (m) => {
      if (m.type() === "error" && !HTTP_REFUSAL.test(m.text())) errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    // Destructive actions ask first; the operator says yes.
    page.on("dialog", (d: Dialog) => {
      confirms.push(d.message());
      void d.accept();
    });
  });

  after(async () => {
    for (const c of clients) c.close();
    await chromium?.close();
    await server?.stop();
  });

  /** An SDK member of `room`. */
  async function member(room: string, user: string, role: "owner" | "audience"): Promise<CoGuestStore> {
    const client = await server.client(user, role);
    clients.push(client);
    return CoGuestStore.create(client, room);
  }

  const base = (): string => `http://127.0.0.1:${server.port}`;

  test("sign in: / leads to the console, a wrong key and a member's token are refused, the API key works", async () => {
    await page.goto(`${base()}/`);
    assert.equal(new URL(page.url()).pathname, "/console");
    const credential = page.getByLabel("API key or admin token");
    await credential.fill("not-the-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    const refused = page.getByTestId("signin-error");
    await refused.filter({ hasText: "UNAUTHENTICATED (-3010)" }).waitFor();
    assert.match((await refused.textContent()) ?? "", /refused/);

    await credential.fill(server.token("bob", "audience"));
    await page.getByRole("button", { name: "Sign in" }).click();
    await refused.filter({ hasText: "NEED_ADMIN_PERMISSION (-2301)" }).waitFor();
    assert.match((await refused.textContent()) ?? "", /not an admin token/);

    await credential.fill(server.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("status").filter({ hasText: "connected" }).waitFor();
    await page.getByRole("heading", { name: "Rooms" }).waitFor();
    // Kept for the tab: a reload stays signed in.
    await page.reload();
    await page.getByTestId("status").filter({ hasText: "connected" }).waitFor();
  });

  test("a room created by an SDK client appears on the rooms page, live", async () => {
    await page.getByTestId("room-count").filter({ hasText: "0 rooms" }).waitFor();
    owner = await member(ROOM, "host_1", "owner");
    // The room shows up as soon as it exists, then with its owner seated and present.
    const row = page.getByTestId(`room-${ROOM}`);
    await row.locator("td").first().filter({ hasText: "1 / 9" }).waitFor();
    assert.equal(await row.locator("td").nth(1).textContent(), "1", "one member");
    // The filter narrows the list by id.
    await member("other_room", "host_2", "owner");
    await page.getByTestId("room-other_room").waitFor();
    await page.getByLabel("Filter by room id").fill("studio");
    await page.getByTestId("room-other_room").waitFor({ state: "detached" });
    await page.getByLabel("Filter by room id").fill("");
    await page.getByTestId("room-other_room").waitFor();
    assert.equal(owner.isClosed, false);
  });

  test("an applicant appears with its timer; accept seats it; kick and lock reach the SDK clients; a refusal shows its code", async () => {
    const bob = await member(ROOM, "bob", "audience");
    await page.getByTestId(`room-${ROOM}`).getByRole("link").click();
    await page.getByRole("heading", { name: `Room ${ROOM}` }).waitFor();
    await page.getByTestId("candidate-bob").waitFor();

    // The page notes when the application appears (wall clock, as this process's).
    await page.evaluate(() => {
      const w = window as unknown as { shownAt?: number };
      new MutationObserver((_, mo) => {
        if (document.querySelector('[data-testid="application-bob"]')) {
          w.shownAt = performance.timeOrigin + performance.now();
          mo.disconnect();
        }
      }).observe(document.body, { childList: true, subtree: true });
    });
    await bob.applyForSeat({ timeout: 60, extraInfo: "may I?" });
    // The server answers once the change is stored and sent to everyone (the console too).
    const acked = Date.now();
    await page.getByTestId("application-bob").waitFor();
    const shownAt = await page.evaluate(() => (window as unknown as { shownAt?: number }).shownAt ?? Infinity);
    assert.ok(shownAt - acked < 100, `shown within 100 ms of the change (${Math.round(shownAt - acked)} ms)`);
    assert.match((await page.getByTestId("waited-bob").textContent()) ?? "", /^waited \d+ s$/);
    assert.match((await page.getByTestId("left-bob").textContent()) ?? "", /^(59 s|1 min) left$/);
    await page.getByTestId("log").getByText("application created").waitFor();

    // Accept: the console picks bob onto a seat; bob's SDK sees it.
    await page.getByTestId("accept-bob").click();
    const seats = bob.liveSeatStore().seatList;
    const seated = await waitFor(seats, "bob seated", (l) => l.some((s) => s.user?.userID === "bob"));
    const seat = seated.find((s) => s.user?.userID === "bob")?.seatIndex ?? -1;
    await page.getByTestId(`seat-${seat}`).getByText("Bob", { exact: true }).waitFor();
    await page.getByTestId("application-bob").waitFor({ state: "detached" });
    await page.getByTestId("log").getByText("seated").first().waitFor();

    // Kick, after a confirmation.
    let kicked = false;
    bob.addGuestListener({ onKickedOffSeat: () => (kicked = true) });
    await page.getByTestId("kick-bob").click();
    await waitFor(bob.coGuestState.connected, "bob off its seat", (l) => !ids(l).includes("bob"));
    assert.ok(kicked, "bob was told");
    assert.ok(confirms.some((m) => m.startsWith("Kick bob")), confirms.join("; "));

    // Lock a seat.
    await page.getByTestId("lock-2").click();
    await waitFor(seats, "seat 2 locked", (l) => l[2]?.isLocked === true);
    await page.getByTestId("unlock-2").waitFor();

    // A refused action shows the server's code and message.
    await page.getByLabel("User id").first().fill("nobody_here");
    await page.getByTestId("pick-form").getByRole("button", { name: "Pick" }).click();
    const error = page.getByTestId("error");
    await error.filter({ hasText: "USER_NOT_ENTERED (-2201)" }).waitFor();
    assert.match((await error.textContent()) ?? "", /^Pick nobody_here onto any seat refused: /);
  });

  test("a busy room, and the rooms page, as screenshots", async () => {
    const carol = await member(ROOM, "carol", "audience");
    const dave = await member(ROOM, "dave", "audience");
    await member(ROOM, "erin", "audience");
    frank = await member(ROOM, "frank", "audience");
    await member(ROOM, "grace", "audience");
    await carol.applyForSeat({ timeout: 120, extraInfo: "I have a question" });
    await dave.applyForSeat({ seatIndex: 4, timeout: 90 });
    await owner.inviteToSeat({ inviteeID: "erin", timeout: 45 });
    const [status] = await server.admin("POST", `/v1/admin/rooms/${ROOM}/seats/pick`, { user_id: "frank", seat_index: 3 });
    assert.equal(status, 200);
    await page.getByTestId("invitation-erin").waitFor();
    await page.getByTestId("seat-3").getByText("Frank", { exact: true }).waitFor();
    await page.getByTestId("application-dave").waitFor();
    mkdirSync(join(REPO_DIR, "docs"), { recursive: true });
    await page.screenshot({ path: join(REPO_DIR, "docs/console-room.png"), fullPage: true });

    await member("morning_show", "host_3", "owner");
    await member("qa_session", "host_4", "owner");
    await page.getByRole("link", { name: "← All rooms" }).click();
    await page.getByTestId("room-qa_session").waitFor();
    await page.screenshot({ path: join(REPO_DIR, "docs/console-rooms.png"), fullPage: true });
  });

  test("move, seat count and mode, and admin rights from the room page reach the SDK clients", async () => {
    await page.getByTestId(`room-${ROOM}`).getByRole("link").click();
    await page.getByTestId("seat-3").getByText("Frank", { exact: true }).waitFor();
    const seats = frank.liveSeatStore();

    const move = page.getByTestId("move-form");
    await move.getByLabel("User", { exact: true }).selectOption("frank");
    await move.getByLabel("To seat").selectOption("5");
    await move.getByRole("button", { name: "Move" }).click();
    await waitFor(seats.seatList, "frank on seat 5", (l) => l[5]?.user?.userID === "frank");

    await page.getByLabel("Number of seats").fill("7");
    await page.getByLabel("Seat mode").selectOption("free_to_take");
    await page.getByTestId("settings-form").getByRole("button", { name: "Apply" }).click();
    await waitFor(seats.seatList, "seven seats", (l) => l.length === 7);
    await waitFor(seats.seatMode, "free to take", (m) => m === "freeToTake");
    assert.ok(confirms.some((m) => m.startsWith("Remove seats 7 to 8")), confirms.join("; "));

    let role = "";
    seats.addSeatListener({ onRoleChanged: (r) => (role = r) });
    await page.getByTestId("admin-form").getByLabel("User id").fill("frank");
    await page.getByRole("button", { name: "Grant admin" }).click();
    await eventually("frank made an admin", () => role === "admin");
    await page.getByRole("button", { name: "Revoke admin" }).click();
    await eventually("frank's admin role revoked", () => role === "audience");
    await page.getByTestId("log").getByText("role changed").first().waitFor();
    await page.getByRole("link", { name: "← All rooms" }).click();
  });

  test("on a phone-sized screen the room page is one column and still usable", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId(`room-${ROOM}`).getByRole("link").click();
    await page.getByTestId("application-carol").waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `no horizontal scrolling (${width}px)`);
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  test("closing the room from the console reaches the SDK clients", async () => {
    const carol = await member(ROOM, "carol", "audience");
    await page.getByTestId("close-room").click();
    await eventually("carol's and the owner's stores closed", () => carol.isClosed && owner.isClosed);
    await page.getByTestId("room-meta").filter({ hasText: "This room was closed." }).waitFor();
    assert.ok(confirms.some((m) => m.startsWith(`Close room ${ROOM}?`)), confirms.join("; "));
    await page.getByRole("link", { name: "← All rooms" }).click();
    await page.getByTestId("room-qa_session").waitFor();
    await page.getByTestId(`room-${ROOM}`).waitFor({ state: "detached" });
    assert.deepEqual(errors, [], "no console error");
  });
});
