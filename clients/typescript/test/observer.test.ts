// Observers against the real server: a service admin's RoomObserver sees the host view with
// request ids and times, the event log and host callbacks without being a member, resumes
// after a cut connection without losing or repeating a log line, and ends with the room; a
// RoomsObserver gets the rooms list live. Members and admin tokens of another room are refused.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client, CoGuestStore, ErrorCode, RoomObserver, RoomsObserver, type ClientOptions } from "../src/index.js";
import { Proxy, TestServer, errorCode, eventually, ids, waitFor } from "./support.js";

const quick: ClientOptions = { backoffInitialMs: 20, backoffMaxMs: 80 };

describe("observers", () => {
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
  const member = async (room: string, user: string, role: "owner" | "audience"): Promise<CoGuestStore> => {
    const [c, s] = await server.member(room, user, role);
    clients.push(c);
    return s;
  };
  const admin = async (options: { room?: string; url?: string } = {}): Promise<Client> => {
    const token = server.token("ops", "audience", { admin: true, ...(options.room ? { room: options.room } : {}) });
    const c = await Client.connect(options.url ?? server.url, token, { requestTimeoutMs: 10_000, ...quick });
    clients.push(c);
    return c;
  };

  test("a room's host view, log and host callbacks, without being a member", async () => {
    const room = "obs-view";
    const owner = await member(room, "host_1", "owner");
    const bob = await member(room, "bob", "audience");
    await bob.applyForSeat({ timeout: 30, extraInfo: "hi" });

    const observer = await RoomObserver.create(await admin(), room);
    const [app] = observer.applications.value;
    assert.equal(app?.user.userID, "bob");
    assert.equal(app?.seatIndex, -1);
    assert.equal(app?.extraInfo, "hi");
    assert.ok(app && app.requestedMs !== null && app.deadlineMs - app.requestedMs === 30_000, JSON.stringify(app));
    assert.deepEqual(
      observer.connected.value.map((u) => u.userID),
      ["host_1"],
    );
    assert.ok(observer.seatList.value.length > 1);
    // The log kept since the room was first observed: nothing yet.
    assert.deepEqual(observer.log.value, []);
    // Not a member: the owner's candidates do not list it.
    assert.ok(!ids(owner.coGuestState.candidates.value).includes("ops"));

    const received: string[] = [];
    observer.addHostListener({ onGuestApplicationReceived: (u) => received.push(u.userID) });
    const carol = await member(room, "carol", "audience");
    await carol.applyForSeat({ seatIndex: 3, timeout: 60 });
    await waitFor(observer.applications, "carol's application", (l) => l.some((a) => a.user.userID === "carol"));
    assert.deepEqual(received, ["carol"]);
    await owner.inviteToSeat({ inviteeID: "bob", seatIndex: 2, timeout: 20 });
    const [inv] = await waitFor(observer.invitations, "an invitation", (l) => l.length === 1);
    assert.equal(inv?.inviterID, "host_1");
    assert.equal(inv?.seatIndex, 2);
    await owner.acceptApplication("carol");
    await waitFor(observer.connected, "carol seated", (l) => ids(l).includes("carol"));
    const log = await waitFor(observer.log, "the accept in the log", (l) => l.some((e) => e.type === "seated"));
    // Newest first, with who did it.
    const types = log.map((e) => `${e.type} by ${e.actor}`);
    assert.deepEqual(types.slice(0, 3), ["seated by host_1", "application_accepted by host_1", "invitation_created by host_1"]);
    assert.ok(types.includes("member_joined by carol") && types.includes("application_created by carol"), types.join(", "));
    assert.equal(observer.version.value, Math.max(...log.map((e) => e.version)));

    // Stopping: the lists empty, nothing more arrives.
    await observer.stop();
    assert.equal(observer.isClosed, true);
    assert.deepEqual(observer.applications.value, []);
  });

  test("members, and admin tokens of another room, are refused", async () => {
    const room = "obs-refused";
    await member(room, "host_1", "owner");
    const bob = await server.client("bob", "audience");
    clients.push(bob);
    assert.equal(await errorCode(RoomObserver.create(bob, room)), ErrorCode.NEED_ADMIN_PERMISSION);
    assert.equal(await errorCode(RoomsObserver.create(bob)), ErrorCode.NEED_ADMIN_PERMISSION);
    assert.equal(await errorCode(RoomObserver.create(await admin(), "no-such-room")), ErrorCode.ROOM_ID_NOT_EXIST);
    // Limited to its room: the rooms list and other rooms are refused.
    const scoped = await admin({ room: "elsewhere" });
    assert.equal(await errorCode(RoomsObserver.create(scoped)), ErrorCode.WRONG_ROOM);
    assert.equal(await errorCode(RoomObserver.create(scoped, room)), ErrorCode.WRONG_ROOM);
    // A client cannot both join and observe one room.
    const both = await server.client("boss", "audience");
    clients.push(both);
    await CoGuestStore.create(both, room);
    assert.equal(await errorCode(RoomObserver.create(both, room)), ErrorCode.REQUEST_NO_PERMISSION);
  });

  test("a cut connection resumes: no log line lost or repeated; a closed room ends the observer", async () => {
    const room = "obs-resume";
    const owner = await member(room, "host_1", "owner");
    const observer = await RoomObserver.create(await admin({ url: proxy.url }), room);
    await owner.liveSeatStore().lockSeat(1);
    await waitFor(observer.log, "the first lock", (l) => l.length === 1);
    proxy.cut();
    await owner.liveSeatStore().lockSeat(2);
    await owner.liveSeatStore().unlockSeat(1);
    await waitFor(observer.seatList, "the changes made while cut", (l) => l[2]?.isLocked === true && l[1]?.isLocked === false);
    const log = await waitFor(observer.log, "three lines", (l) => l.length === 3);
    assert.deepEqual(
      log.map((e) => `${e.type} ${String(e.data.seat_index)}`),
      ["seat_unlocked 1", "seat_locked 2", "seat_locked 1"],
    );

    assert.equal(await server.closeRoom(room), 204);
    await eventually("the observer ended", () => observer.isClosed);
    assert.notEqual(observer.ended.value, null);
  });

  test("the rooms list, live", async () => {
    const rooms = await RoomsObserver.create(await admin());
    assert.ok(rooms.rooms.value.length >= 1);
    const owner = await member("obs-list", "host_1", "owner");
    const [first] = await waitFor(rooms.rooms, "the new room first", (l) => l[0]?.roomID === "obs-list");
    assert.equal(first?.members, 1);
    assert.equal(first?.seated, 1);
    const bob = await member("obs-list", "bob", "audience");
    await bob.applyForSeat({ timeout: 30 });
    await waitFor(rooms.rooms, "its application counted", (l) => l.find((r) => r.roomID === "obs-list")?.applications === 1);
    assert.equal(await server.closeRoom("obs-list"), 204);
    await waitFor(rooms.rooms, "the closed room gone", (l) => !l.some((r) => r.roomID === "obs-list"));
    assert.equal(owner.isClosed, true);
    await rooms.stop();
  });
});
