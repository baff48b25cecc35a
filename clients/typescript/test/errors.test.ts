// Each error path: wrong role, unknown user, a room closed by the backend, bad and expired
// tokens, bad and unreachable URLs, a closed client. Errors carry the server's codes.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client, CoGuestError, CoGuestStore, ErrorCode } from "../src/index.js";
import { Recorder, TestServer, errorCode, freePort, ids, settle, sleep, suiteServer, waitFor } from "./support.js";

describe("error paths", () => {
  const suite = suiteServer();
  const { member } = suite;

  test("wrong role, unknown user, nothing pending: the server's codes, nothing changes", async () => {
    const room = "errors-rules";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    const [bobC, bob] = await member(room, "bob", "audience");
    const hostLog = Recorder.on(owner);

    const e = await bob.acceptApplication("host_1").catch((err: unknown) => err);
    assert.ok(e instanceof CoGuestError);
    assert.equal(e.code, ErrorCode.NEED_ADMIN_PERMISSION);
    assert.equal(e.code, -2301);
    assert.equal(e.codeName, "NEED_ADMIN_PERMISSION");
    assert.ok(e.message.length > 0);
    assert.equal(await errorCode(bob.inviteToSeat({ inviteeID: "host_1", timeout: 30 })), -2301);
    assert.equal(await errorCode(bob.kickOffSeat("host_1")), -2301);
    assert.equal(await errorCode(bob.lockSeat(3)), -2301);
    assert.equal(await errorCode(owner.inviteToSeat({ inviteeID: "nobody", timeout: 30 })), ErrorCode.USER_NOT_ENTERED);
    assert.equal(await errorCode(owner.acceptApplication("bob")), ErrorCode.REQUEST_ID_INVALID);
    assert.equal(await errorCode(owner.cancelInvitation("bob")), ErrorCode.REQUEST_ID_INVALID);
    assert.equal(await errorCode(bob.acceptInvitation("host_1")), ErrorCode.REQUEST_ID_INVALID);
    assert.equal(await errorCode(bob.rejectInvitation("host_1")), ErrorCode.REQUEST_ID_INVALID);
    assert.equal(await errorCode(bob.cancelApplication()), ErrorCode.REQUEST_ID_INVALID);
    assert.equal(await errorCode(bob.applyForSeat({ timeout: 0 })), ErrorCode.TIMEOUT_OUT_OF_RANGE);
    assert.equal(await errorCode(bob.applyForSeat({ seatIndex: 0, timeout: 30 })), ErrorCode.SEAT_OCCUPIED);
    await bob.applyForSeat({ timeout: 30 });
    assert.equal(await errorCode(bob.applyForSeat({ timeout: 30 })), ErrorCode.REQUEST_ID_REPEAT);
    await hostLog.expect("guestApplicationReceived bob");
    await settle([ownerC, bobC]);
    assert.deepEqual(ids(owner.coGuestState.applicants.value), ["bob"]);
    assert.deepEqual(hostLog.drain(), []);
  });

  test("a room closed by the backend ends its stores; create joins a new room of that name", async () => {
    const room = "errors-closed";
    const [, owner] = await member(room, "host_1", "owner");
    const [bobC, bob] = await member(room, "bob", "audience");
    const hostLog = Recorder.on(owner);
    await bob.applyForSeat({ timeout: 300 });
    await hostLog.expect("guestApplicationReceived bob");
    assert.deepEqual(ids(owner.coGuestState.applicants.value), ["bob"]);

    assert.equal(await suite.server.closeRoom(room), 204);
    await waitFor(owner.coGuestState.connected, "connected emptied", (c) => c.length === 0);
    assert.deepEqual(owner.coGuestState.applicants.value, []);
    assert.equal(owner.isClosed, true);
    await waitFor(bob.coGuestState.applicants, "bob's view emptied", (a) => a.length === 0);
    assert.equal(bob.isClosed, true);
    assert.equal(bob.liveSeatStore().isClosed, true);
    assert.equal(await errorCode(bob.cancelApplication()), CoGuestError.ROOM_CLOSED);
    assert.deepEqual(hostLog.drain(), [], "no callback after the close");

    const again = await CoGuestStore.create(bobC, room);
    assert.equal(again.isClosed, false);
    await again.applyForSeat({ timeout: 300 });
    assert.equal(bob.isClosed, true, "the old store stays closed");
  });

  test("a request denied by the app's approval hook carries the app's code and reason", async () => {
    // The app's backend: denies every application with its own code.
    const hook = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ allow: false, code: 4031, reason: "muted by a moderator" }));
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    const { port } = hook.address() as AddressInfo;
    const gated = await TestServer.start(["--approve-url", `apply=http://127.0.0.1:${port}/approve`, "--approve-secret", "s"]);
    try {
      const [ownerC, owner] = await gated.member("errors-approval", "host_1", "owner");
      const [bobC, bob] = await gated.member("errors-approval", "bob", "audience");
      try {
        const e = await bob.applyForSeat({ timeout: 30 }).catch((err: unknown) => err);
        assert.ok(e instanceof CoGuestError);
        assert.equal(e.code, ErrorCode.APPROVAL_DENIED);
        assert.equal(e.codeName, "APPROVAL_DENIED");
        assert.equal(e.appCode, 4031);
        assert.equal(e.reason, "muted by a moderator");
        await settle([ownerC, bobC]);
        assert.deepEqual(owner.coGuestState.applicants.value, []);
        // Other errors carry neither.
        const other = await bob.cancelApplication().catch((err: unknown) => err);
        assert.ok(other instanceof CoGuestError);
        assert.equal(other.appCode, undefined);
        assert.equal(other.reason, undefined);
      } finally {
        ownerC.close();
        bobC.close();
      }
    } finally {
      await gated.stop();
      hook.close();
    }
  });

  test("refused tokens: forged, garbage, expired, another room", async () => {
    const other = await TestServer.start();
    try {
      const forged = other.token("mallory", "owner");
      const e = await Client.connect(suite.server.url, forged).catch((err: unknown) => err);
      assert.ok(e instanceof CoGuestError);
      assert.equal(e.code, ErrorCode.UNAUTHENTICATED);
    } finally {
      await other.stop();
    }
    assert.equal(await errorCode(Client.connect(suite.server.url, "not.a.jwt")), -3010);
    assert.equal(await errorCode(Client.connect(suite.server.url, "")), -3010);
    const expired = suite.server.token("late", "audience", { ttl: 1 });
    await sleep(2100);
    assert.equal(await errorCode(Client.connect(suite.server.url, expired)), ErrorCode.TOKEN_EXPIRED);

    // A token for one room: another room is refused, and the client stops.
    const scoped = await Client.connect(suite.server.url, suite.server.token("scoped", "audience", { room: "only-this" }));
    suite.track(scoped);
    await CoGuestStore.create(scoped, "only-this");
    assert.equal(await errorCode(CoGuestStore.create(scoped, "another")), ErrorCode.WRONG_ROOM);
    await waitFor(scoped.status, "closed", (s) => s === "closed");
    assert.equal(scoped.closeError?.code, ErrorCode.WRONG_ROOM);
    assert.equal(await errorCode(scoped.ping()), ErrorCode.WRONG_ROOM);
  });

  test("bad URLs and unreachable servers", async () => {
    const token = suite.server.token("bob", "audience");
    for (const url of ["http://127.0.0.1:7700", "127.0.0.1:7700", "", "ws://"]) {
      assert.equal(await errorCode(Client.connect(url, token)), CoGuestError.INVALID_URL, url);
    }
    assert.equal(await errorCode(Client.connect([], token)), CoGuestError.INVALID_URL);
    const closedPort = await freePort();
    assert.equal(
      await errorCode(Client.connect(`ws://127.0.0.1:${closedPort}`, token, { connectTimeoutMs: 2000 })),
      CoGuestError.CONNECT_FAILED,
    );
    // Several URLs: the first that answers wins.
    const c = await Client.connect([`ws://127.0.0.1:${closedPort}`, `${suite.server.url}/`], token);
    assert.equal(c.status.value, "connected");
    c.close();
  });

  test("a closed client fails every call with CLOSED", async () => {
    const room = "errors-client-closed";
    const [c, store] = await member(room, "dora", "audience");
    const pending = store.applyForSeat({ timeout: 30 });
    c.close();
    assert.equal(c.status.value, "closed");
    assert.equal(c.closeError, null);
    const first = await pending.then(
      () => 0,
      (e: CoGuestError) => e.code,
    );
    assert.ok(first === 0 || first === CoGuestError.CLOSED, `got ${first}`);
    assert.equal(await errorCode(store.cancelApplication()), CoGuestError.CLOSED);
    assert.equal(await errorCode(c.ping()), CoGuestError.CLOSED);
    assert.equal(await errorCode(CoGuestStore.create(c, "elsewhere")), CoGuestError.CLOSED);
  });
});
