// Reconnecting: the server killed and restarted on the same data, connections cut or muffled
// by a proxy. No callback is lost or delivered twice, calls are re-sent with the same id, and
// calls that cannot be sent or answered in time fail with TIMEOUT / OUTCOME_UNKNOWN.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { CoGuestError, CoGuestStore, type Client, type ClientOptions } from "../src/index.js";
import { Proxy, Recorder, TestServer, errorCode, ids, settle, sleep, waitFor } from "./support.js";

/** A short reconnect backoff, unless a test wants a slow one. */
const quick: ClientOptions = { backoffInitialMs: 20, backoffMaxMs: 80 };

describe("reconnecting", () => {
  let server: TestServer;
  let proxy: Proxy;
  const clients: Client[] = [];
  before(async () => {
    server = await TestServer.start();
    proxy = await Proxy.start(server.port);
  });
  after(async () => {
    for (const c of clients) c.close();
    await proxy.stop();
    await server.stop();
  });
  const member = async (room: string, user: string, role: "owner" | "admin" | "audience", options: ClientOptions = {}) => {
    const [c, s] = await server.member(room, user, role, { ...quick, ...options });
    clients.push(c);
    return [c, s] as const;
  };
  const proxied = async (room: string, user: string, role: "owner" | "admin" | "audience", options: ClientOptions = {}) => {
    const c = await server.client(user, role, { ...quick, ...options }, proxy.url);
    clients.push(c);
    return [c, await CoGuestStore.create(c, room)] as const;
  };

  test("the server killed and restarted on the same data: nothing lost, nothing twice", async () => {
    const room = "reconnect-restart";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    // Bob reconnects slowly (about 1 s), so the owner acts while bob is away.
    const [bobC, bob] = await member(room, "bob", "audience", { backoffInitialMs: 1500, backoffMaxMs: 1500 });
    const hostLog = Recorder.on(owner);
    const bobLog = Recorder.on(bob);
    const statuses: string[] = [];
    bobC.status.subscribe((s) => statuses.push(s));

    await bob.applyForSeat({ timeout: 300 });
    await hostLog.expect("guestApplicationReceived bob");
    // An invitation that times out while the server is down: its deadline fires once, after the restart.
    await owner.inviteToSeat({ inviteeID: "carol_absent", timeout: 30 }).catch(() => undefined);

    await server.kill("SIGKILL");
    await waitFor(ownerC.status, "owner reconnecting", (s) => s === "reconnecting");
    // Made while the server is down: queued, sent after the reconnect.
    const accept = owner.acceptApplication("bob");
    await sleep(100);
    await server.startAgain();
    await accept;
    await waitFor(owner.coGuestState.connected, "bob seated (owner)", (c) => c.length === 2);
    assert.ok(bobC.status.value !== "connected" || bobLog.lines.length > 0);

    // Bob comes back and catches up: the callback exactly once, the lists whole.
    await bobLog.expect("guestApplicationResponded true host_1");
    await waitFor(bob.coGuestState.connected, "bob seated (bob)", (c) => c.length === 2);
    assert.equal(bobC.status.value, "connected");
    assert.deepEqual(statuses, ["reconnecting", "connected"]);

    // Life goes on after the resume, and nothing was delivered twice.
    await bob.disconnect();
    await waitFor(owner.coGuestState.connected, "bob off", (c) => c.length === 1);
    await settle([ownerC, bobC]);
    assert.deepEqual(hostLog.drain(), []);
    assert.deepEqual(bobLog.drain(), []);
  });

  test("a call whose answer is lost is re-sent with the same id and answered once", async () => {
    const room = "reconnect-lost-answer";
    const [bobC, bob] = await member(room, "bob", "audience");
    const bobLog = Recorder.on(bob);
    const [ownerC, owner] = await proxied(room, "host_1", "owner");
    const hostLog = Recorder.on(owner);
    await bob.applyForSeat({ timeout: 300 });
    await hostLog.expect("guestApplicationReceived bob");

    // The accept reaches the server and is applied; its answer never comes back.
    proxy.swallowAnswers(true);
    let settled = false;
    const accept = owner.acceptApplication("bob").finally(() => (settled = true));
    await bobLog.expect("guestApplicationResponded true host_1");
    // Meanwhile bob leaves the seat: a change for the owner, also lost.
    await bob.disconnect();
    await sleep(50);
    assert.equal(settled, false);
    proxy.swallowAnswers(false);
    proxy.cut();

    // Re-sent with the same id: the first answer (success), not REQUEST_ID_INVALID.
    await accept;
    const state = owner.coGuestState;
    await waitFor(state.connected, "owner alone on seat", (c) => c.length === 1);
    assert.deepEqual(state.applicants.value, []);
    await waitFor(state.candidates, "bob a candidate again", (c) => ids(c).join() === "bob");
    await settle([ownerC, bobC]);
    assert.deepEqual(hostLog.drain(), []);
    assert.deepEqual(bobLog.drain(), []);
  });

  test("a leave queued while disconnected goes before the join of the room's new store", async () => {
    const room = "reconnect-leave-order";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    const hostLog = Recorder.on(owner);
    // A long backoff: the reconnect comes at least 500 ms after the cut.
    const [bobC, bob] = await proxied(room, "bob", "audience", { backoffInitialMs: 1000, backoffMaxMs: 1000 });
    await bob.applyForSeat({ timeout: 300 });
    await hostLog.expect("guestApplicationReceived bob");

    proxy.cut();
    await waitFor(bobC.status, "bob reconnecting", (s) => s === "reconnecting");
    // While disconnected: the store leaves (a `leave` is queued), a new one is created (its join waits).
    const left = bob.leaveRoom();
    const again = await CoGuestStore.create(bobC, room);
    await left;
    assert.equal(bobC.status.value, "connected");

    // The old membership left first: its application was withdrawn...
    await hostLog.expect("guestApplicationCancelled bob");
    assert.deepEqual(again.coGuestState.applicants.value, []);
    // ...and the new store is a member (not taken out by the old store's leave).
    await again.applyForSeat({ timeout: 300 });
    await hostLog.expect("guestApplicationReceived bob");
    assert.deepEqual(ids(again.coGuestState.applicants.value), ["bob"]);
    await settle([ownerC, bobC]);
    assert.deepEqual(ids(owner.coGuestState.applicants.value), ["bob"]);
    assert.deepEqual(hostLog.drain(), []);
  });

  test("a call never sent before its deadline fails with TIMEOUT and is not applied", async () => {
    const room = "reconnect-timeout";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    const hostLog = Recorder.on(owner);
    const [bobC, bob] = await proxied(room, "bob", "audience", { requestTimeoutMs: 300, connectTimeoutMs: 100 });

    // Every reconnect attempt now dies before `welcome`: the client stays disconnected.
    proxy.swallowAnswers(true);
    proxy.cut();
    await waitFor(bobC.status, "bob reconnecting", (s) => s === "reconnecting");
    assert.equal(await errorCode(bob.applyForSeat({ timeout: 300 })), CoGuestError.TIMEOUT);

    proxy.swallowAnswers(false);
    await waitFor(bobC.status, "bob connected", (s) => s === "connected");
    // Not applied, and not re-sent after the reconnect: there is no application to cancel.
    assert.equal(await errorCode(bob.cancelApplication()), -2311);
    await settle([ownerC, bobC]);
    assert.deepEqual(hostLog.drain(), []);
    assert.deepEqual(owner.coGuestState.applicants.value, []);
    await bob.applyForSeat({ timeout: 300 });
    await hostLog.expect("guestApplicationReceived bob");
  });

  test("a call sent but unanswered before its deadline fails with OUTCOME_UNKNOWN", async () => {
    const room = "reconnect-outcome-unknown";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    const hostLog = Recorder.on(owner);
    const [bobC, bob] = await proxied(room, "bob", "audience", { requestTimeoutMs: 2000 });
    const bobLog = Recorder.on(bob);

    // Sent and applied, but the answer is swallowed and the connection stays up.
    proxy.swallowAnswers(true);
    assert.equal(await errorCode(bob.applyForSeat({ timeout: 300 })), CoGuestError.OUTCOME_UNKNOWN);
    assert.equal(bobC.status.value, "connected");
    await hostLog.expect("guestApplicationReceived bob");
    assert.deepEqual(bob.coGuestState.applicants.value, []);

    // Once reconnected, the lists say what happened.
    proxy.swallowAnswers(false);
    proxy.cut();
    await waitFor(bob.coGuestState.applicants, "bob's application", (a) => ids(a).join() === "bob");
    assert.equal(await errorCode(bob.applyForSeat({ timeout: 300 })), -2312);

    // Answer lost, connection cut, re-sent with the same id and answered before the deadline.
    proxy.swallowAnswers(true);
    const cancel = bob.cancelApplication();
    await hostLog.expect("guestApplicationCancelled bob");
    proxy.swallowAnswers(false);
    proxy.cut();
    await cancel;
    await waitFor(bob.coGuestState.applicants, "application gone", (a) => a.length === 0);
    await settle([ownerC, bobC]);
    assert.deepEqual(hostLog.drain(), []);
    assert.deepEqual(bobLog.drain(), []);
  });
});
