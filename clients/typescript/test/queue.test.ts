// The application queue through the SDK against the real server: each applicant's place is
// live (`queuePosition`) through applies, cancels, timeouts and accepts, hosts' `applicants`
// are in arrival order, `acceptNextApplication` takes the first in line, and places come back
// right after the server is killed and restarted on the same data.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Client, ClientOptions, CoGuestStore, QueuePosition } from "../src/index.js";
import { TestServer, errorCode, ids, waitFor } from "./support.js";

const place = (store: CoGuestStore, what: string, want: [number, number] | null): Promise<QueuePosition | null> =>
  waitFor(store.queuePosition, what, (q) =>
    want === null ? q === null : q !== null && q.position === want[0] && q.length === want[1],
  );

/** A short reconnect backoff, so the restart test does not wait. */
const quick: ClientOptions = { backoffInitialMs: 20, backoffMaxMs: 80 };

describe("application queue", () => {
  let server: TestServer;
  const clients: Client[] = [];
  before(async () => {
    server = await TestServer.start();
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });
  const member = async (room: string, user: string, role: "owner" | "admin" | "audience") => {
    const [c, s] = await server.member(room, user, role, quick);
    clients.push(c);
    return s;
  };

  test("places follow arrival; hosts take anyone, or the first in line", async () => {
    const room = "queue-live";
    const owner = await member(room, "host_1", "owner");
    const [a, b, c] = [await member(room, "a", "audience"), await member(room, "b", "audience"), await member(room, "c", "audience")];
    assert.equal(a.queuePosition.value, null);
    assert.equal(await errorCode(owner.acceptNextApplication()), -3029);

    await a.applyForSeat({ timeout: 60 });
    await place(a, "a 1/1", [1, 1]);
    await b.applyForSeat({ timeout: 60 });
    await c.applyForSeat({ timeout: 60 });
    await place(a, "a 1/3", [1, 3]);
    await place(b, "b 2/3", [2, 3]);
    await place(c, "c 3/3", [3, 3]);
    await waitFor(owner.coGuestState.applicants, "all three, in order", (l) => ids(l).join() === "a,b,c");

    await b.cancelApplication();
    await place(b, "b out", null);
    await place(c, "c 2/2", [2, 2]);
    await place(a, "a 1/2", [1, 2]);
    assert.equal(await errorCode(a.acceptNextApplication()), -2301);

    await owner.acceptNextApplication();
    await place(a, "a seated, out", null);
    await place(c, "c 1/1", [1, 1]);
    await waitFor(owner.coGuestState.connected, "a seated", (s) => s.some((x) => x.userID === "a"));

    // A host may pick anyone: b applies again, last in line, and is accepted by name.
    await b.applyForSeat({ timeout: 60 });
    await place(b, "b 2/2", [2, 2]);
    await owner.acceptApplication("b");
    await place(b, "b out", null);
    await place(c, "c 1/1 again", [1, 1]);
    assert.deepEqual(ids(owner.coGuestState.applicants.value), ["c"]);
  });

  test("places survive the server killed and restarted on the same data", async () => {
    const room = "queue-restart";
    const owner = await member(room, "host_1", "owner");
    const [a, b] = [await member(room, "a", "audience"), await member(room, "b", "audience")];
    await a.applyForSeat({ timeout: 300 });
    await b.applyForSeat({ timeout: 300 });
    await place(b, "b 2/2", [2, 2]);

    await server.kill("SIGKILL");
    await server.startAgain();
    await waitFor(b.client.status, "b back", (s) => s === "connected");
    assert.deepEqual(b.queuePosition.value, { position: 2, length: 2 });
    await waitFor(owner.coGuestState.applicants, "both, in order", (l) => ids(l).join() === "a,b");

    await a.cancelApplication();
    await place(b, "b first after the restart", [1, 1]);
    await owner.acceptNextApplication();
    await place(b, "b seated", null);
  });
});
