// Every method and callback of the reference CoGuestStore against the real server: the
// application and invitation flows, first host wins, timeouts, listeners and store lifetime.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CoGuestStore, NoResponseReason, type Client, type SeatUserInfo } from "../src/index.js";
import { Recorder, errorCode, ids, settle, suiteServer, waitFor } from "./support.js";

const seats = (list: readonly SeatUserInfo[]): string[] => list.map((s) => `${s.seatIndex}:${s.userID}`);

describe("co-guest flows", () => {
  const suite = suiteServer();
  const { member } = suite;

  test("apply, accept, disconnect; apply, reject; apply, cancel", async () => {
    const room = "flows-apply";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    const [bobC, bob] = await member(room, "bob", "audience");
    assert.equal(ownerC.userID, "host_1");
    assert.equal(ownerC.role, "owner");
    assert.equal(bobC.role, "audience");
    assert.equal(ownerC.status.value, "connected");
    const hostLog = Recorder.on(owner);
    const bobLog = Recorder.on(bob);
    const os = owner.coGuestState;
    const bs = bob.coGuestState;
    assert.deepEqual(seats(os.connected.value), ["0:host_1"]);
    assert.equal(os.connected.value[0]?.role, "owner");
    assert.equal(os.connected.value[0]?.liveID, room);
    assert.equal(os.connected.value[0]?.userName, "Host_1");
    await waitFor(os.candidates, "bob a candidate", (c) => ids(c).join() === "bob");

    // What the lists said when each callback ran: the lists of the same version.
    const seenByHost: string[][] = [];
    owner.addHostListener({ onGuestApplicationReceived: () => seenByHost.push(ids(os.applicants.value)) });
    const seenByBob: string[][] = [];
    bob.addGuestListener({ onGuestApplicationResponded: () => seenByBob.push(seats(bs.connected.value)) });

    await bob.applyForSeat({ seatIndex: -1, timeout: 30, extraInfo: "hi" });
    await hostLog.expect("guestApplicationReceived bob hi");
    assert.deepEqual(seenByHost, [["bob"]]);
    assert.deepEqual(ids(os.applicants.value), ["bob"]);
    assert.deepEqual(ids(bs.applicants.value), ["bob"]);
    assert.deepEqual(ids(os.candidates.value), []);

    await owner.acceptApplication("bob");
    await bobLog.expect("guestApplicationResponded true host_1");
    assert.deepEqual(seenByBob, [["0:host_1", "1:bob"]]);
    await waitFor(os.connected, "bob seated", (c) => c.length === 2);
    assert.deepEqual(seats(os.connected.value), ["0:host_1", "1:bob"]);
    assert.equal(bs.connected.value[1]?.role, "audience");
    assert.deepEqual(ids(os.applicants.value), []);

    await bob.disconnect();
    await waitFor(os.connected, "bob unseated", (c) => c.length === 1);
    await waitFor(bs.connected, "bob unseated (bob's view)", (c) => c.length === 1);
    assert.equal(await errorCode(bob.disconnect()), -2345);

    await bob.applyForSeat({ timeout: 30 });
    await hostLog.expect("guestApplicationReceived bob");
    await owner.rejectApplication("bob");
    await bobLog.expect("guestApplicationResponded false host_1");
    await waitFor(os.applicants, "no applicants", (a) => a.length === 0);

    await bob.applyForSeat({ seatIndex: 3, timeout: 30 });
    await hostLog.expect("guestApplicationReceived bob seat 3");
    await bob.cancelApplication();
    await hostLog.expect("guestApplicationCancelled bob");
    await waitFor(os.applicants, "no applicants", (a) => a.length === 0);
    assert.deepEqual(ids(bs.applicants.value), []);

    await settle([ownerC, bobC]);
    assert.deepEqual(hostLog.drain(), []);
    assert.deepEqual(bobLog.drain(), []);
  });

  test("invite, accept, kick; invite, reject; invite, cancel; invite someone seated", async () => {
    const room = "flows-invite";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    const [bobC, bob] = await member(room, "bob", "audience");
    const hostLog = Recorder.on(owner);
    const bobLog = Recorder.on(bob);
    const os = owner.coGuestState;

    await owner.inviteToSeat({ inviteeID: "bob", seatIndex: 2, timeout: 30, extraInfo: "join me" });
    await bobLog.expect("hostInvitationReceived host_1 join me seat 2");
    assert.deepEqual(ids(os.invitees.value), ["bob"]);
    assert.deepEqual(ids(bob.coGuestState.invitees.value), ["bob"]);
    await bob.acceptInvitation("host_1");
    await hostLog.expect("hostInvitationResponded true bob");
    await waitFor(os.connected, "bob on seat 2", (c) => seats(c).includes("2:bob"));
    assert.deepEqual(ids(os.invitees.value), []);

    await owner.kickOffSeat("bob");
    await bobLog.expect("kickedOffSeat 2 host_1");
    await bobLog.expect("seat.kickedOffSeat 2 host_1");
    await waitFor(os.connected, "bob off", (c) => c.length === 1);

    await owner.inviteToSeat({ inviteeID: "bob", timeout: 30 });
    await bobLog.expect("hostInvitationReceived host_1");
    await bob.rejectInvitation("host_1");
    await hostLog.expect("hostInvitationResponded false bob");
    await waitFor(os.invitees, "no invitees", (i) => i.length === 0);

    await owner.inviteToSeat({ inviteeID: "bob", timeout: 30 });
    await bobLog.expect("hostInvitationReceived host_1");
    await owner.cancelInvitation("bob");
    await bobLog.expect("hostInvitationCancelled host_1");
    await waitFor(bob.coGuestState.invitees, "no invitation", (i) => i.length === 0);

    // Seated by an application, then invited: answered at once as already seated.
    await bob.applyForSeat({ timeout: 30 });
    await hostLog.expect("guestApplicationReceived bob");
    await owner.acceptApplication("bob");
    await bobLog.expect("guestApplicationResponded true host_1");
    await owner.inviteToSeat({ inviteeID: "bob", timeout: 30 });
    await hostLog.expect(`hostInvitationNoResponse bob ${NoResponseReason.alreadySeated}`);
    assert.equal(NoResponseReason.alreadySeated, 1);

    await settle([ownerC, bobC]);
    assert.deepEqual(hostLog.drain(), []);
    assert.deepEqual(bobLog.drain(), []);
  });

  test("a pending invitation closes as already seated when the invitee's application is accepted", async () => {
    const room = "flows-already-seated";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    const [, admin] = await member(room, "admin_1", "admin");
    const [bobC, bob] = await member(room, "bob", "audience");
    const adminLog = Recorder.on(admin);
    const bobLog = Recorder.on(bob);
    await admin.inviteToSeat({ inviteeID: "bob", timeout: 30 });
    await bobLog.expect("hostInvitationReceived admin_1");
    await bob.applyForSeat({ timeout: 30 });
    await adminLog.expect("guestApplicationReceived bob");
    await owner.acceptApplication("bob");
    await bobLog.expect("guestApplicationResponded true host_1");
    // The admin: its invitation closed, and the application it also saw was answered by another host.
    const lines = [adminLog.drain(), await settle([ownerC, bobC]).then(() => adminLog.drain())].flat().sort();
    assert.deepEqual(lines, [
      "guestApplicationProcessedByOtherHost bob by host_1",
      `hostInvitationNoResponse bob ${NoResponseReason.alreadySeated}`,
    ]);

    // The other way round: seated by an invitation, bob's pending application closes as already seated.
    await bob.disconnect();
    await bob.applyForSeat({ timeout: 30 });
    await adminLog.expect("guestApplicationReceived bob");
    await admin.inviteToSeat({ inviteeID: "bob", timeout: 30 });
    await bobLog.expect("hostInvitationReceived admin_1");
    await bob.acceptInvitation("admin_1");
    await adminLog.expect("hostInvitationResponded true bob");
    await bobLog.expect(`guestApplicationNoResponse ${NoResponseReason.alreadySeated}`);
    await settle([ownerC, bobC]);
    assert.deepEqual(bobLog.drain(), []);
  });

  test("first host wins: the second host to answer gets REQUEST_ID_INVALID", async () => {
    const room = "flows-race";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    const [adminC, admin] = await member(room, "admin_1", "admin");
    const [bobC, bob] = await member(room, "bob", "audience");
    const ownerLog = Recorder.on(owner);
    const adminLog = Recorder.on(admin);
    const bobLog = Recorder.on(bob);
    await bob.applyForSeat({ timeout: 30 });
    await ownerLog.expect("guestApplicationReceived bob");
    await adminLog.expect("guestApplicationReceived bob");

    const results = await Promise.allSettled([owner.acceptApplication("bob"), admin.acceptApplication("bob")]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    assert.equal((lost[0] as PromiseRejectedResult).reason.code, -2311);
    const winner = results[0]?.status === "fulfilled" ? "host_1" : "admin_1";
    const loserLog = winner === "host_1" ? adminLog : ownerLog;
    await loserLog.expect(`guestApplicationProcessedByOtherHost bob by ${winner}`);
    await bobLog.expect(`guestApplicationResponded true ${winner}`);
    await waitFor(bob.coGuestState.connected, "bob seated", (c) => c.length === 2);

    await settle([ownerC, adminC, bobC]);
    assert.deepEqual([ownerLog.drain(), adminLog.drain(), bobLog.drain()], [[], [], []]);
  });

  test("timeouts: an application and an invitation nobody answers (1 s)", async () => {
    const room = "flows-timeouts";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    const [bobC, bob] = await member(room, "bob", "audience");
    const hostLog = Recorder.on(owner);
    const bobLog = Recorder.on(bob);

    await bob.applyForSeat({ timeout: 1 });
    await hostLog.expect("guestApplicationReceived bob");
    await bobLog.expect(`guestApplicationNoResponse ${NoResponseReason.timeout}`, 5000);
    await waitFor(owner.coGuestState.applicants, "the application gone", (a) => a.length === 0);

    await owner.inviteToSeat({ inviteeID: "bob", timeout: 1 });
    await bobLog.expect("hostInvitationReceived host_1");
    await hostLog.expect(`hostInvitationNoResponse bob ${NoResponseReason.timeout}`, 5000);
    await waitFor(bob.coGuestState.invitees, "the invitation gone", (i) => i.length === 0);
    assert.equal(NoResponseReason.timeout, 0);

    await settle([ownerC, bobC]);
    assert.deepEqual([hostLog.drain(), bobLog.drain()], [[], []]);
  });

  test("removed listeners and unsubscribed lists hear nothing more", async () => {
    const room = "flows-remove";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    const [bobC, bob] = await member(room, "bob", "audience");
    const hostLog = new Recorder();
    owner.addHostListener(hostLog.host);
    let applicantsSeen = 0;
    const off = owner.coGuestState.applicants.subscribe(() => applicantsSeen++);
    await bob.applyForSeat({ timeout: 30 });
    await hostLog.expect("guestApplicationReceived bob");
    assert.equal(applicantsSeen, 1);

    const guestLog = new Recorder();
    bob.addGuestListener(guestLog.guest);
    bob.removeGuestListener(guestLog.guest);
    owner.removeHostListener(hostLog.host);
    off();
    off(); // harmless
    await bob.cancelApplication();
    await waitFor(bob.coGuestState.applicants, "bob's application gone", (a) => a.length === 0);
    await settle([ownerC, bobC]);
    await owner.inviteToSeat({ inviteeID: "bob", timeout: 30 });
    await waitFor(bob.coGuestState.invitees, "bob invited", (i) => i.length === 1);
    await settle([ownerC, bobC]);
    assert.deepEqual(hostLog.drain(), []);
    assert.deepEqual(guestLog.drain(), []);
    assert.equal(applicantsSeen, 1);
    assert.deepEqual(ids(owner.coGuestState.applicants.value), []);
  });

  test("one store per room per client; leaveRoom leaves, and a new create joins afresh", async () => {
    const room = "flows-lifetime";
    const [ownerC, owner] = await member(room, "host_1", "owner");
    const [bobC, bob] = await member(room, "bob", "audience");
    const hostLog = Recorder.on(owner);
    const again = await CoGuestStore.create(bobC, room);
    assert.equal(again.coGuestState.connected, bob.coGuestState.connected, "the same membership");
    assert.equal(again.liveID, room);
    const both = await Promise.all([CoGuestStore.create(bobC, "flows-lifetime-2"), CoGuestStore.create(bobC, "flows-lifetime-2")]);
    assert.equal(both[0].coGuestState.connected, both[1].coGuestState.connected);

    await bob.applyForSeat({ timeout: 30 });
    await hostLog.expect("guestApplicationReceived bob");
    await bob.leaveRoom();
    assert.equal(bob.isClosed, true);
    assert.equal(again.isClosed, true);
    assert.deepEqual(bob.coGuestState.applicants.value, []);
    await hostLog.expect("guestApplicationCancelled bob");
    await waitFor(owner.coGuestState.candidates, "bob gone", (c) => !ids(c).includes("bob"));
    assert.equal(await errorCode(bob.applyForSeat({ timeout: 30 })), -4106);

    const fresh = await CoGuestStore.create(bobC, room);
    assert.equal(fresh.isClosed, false);
    await waitFor(owner.coGuestState.candidates, "bob back", (c) => ids(c).includes("bob"));
    await settle([ownerC, bobC]);
    assert.deepEqual(hostLog.drain(), []);
  });
});
