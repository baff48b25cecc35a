// The seat layer (LiveSeatStore) against the real server: every seat command and seat
// callback, and callbacks that see the lists of their own version.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LiveSeatStore, deviceAllowed, type Client, type SeatInfo } from "../src/index.js";
import { Recorder, errorCode, ids, settle, suiteServer, waitFor } from "./support.js";

const occupied = (seats: readonly SeatInfo[]): string[] =>
  seats.flatMap((s) => (s.user ? [`${s.seatIndex}:${s.user.userID}`] : []));

describe("seat layer", () => {
  const suite = suiteServer();
  const { member } = suite;

  test("every seat command and seat callback", async () => {
    const room = "seats-all";
    const [ownerC, ownerStore] = await member(room, "host_1", "owner");
    const [bobC, bobStore] = await member(room, "bob", "audience");
    const carolC = await suite.server.client("carol", "audience");
    suite.track(carolC);
    const owner = ownerStore.liveSeatStore();
    const bob = bobStore.liveSeatStore();
    const carol = await LiveSeatStore.create(carolC, room);
    assert.equal(carol.liveID, room);
    const list = bob.seatList;
    assert.equal(list.value.length, 9, "every seat, empty ones included");
    assert.equal(bob.seatMode.value, "applyToTake");
    assert.equal(await errorCode(bob.takeSeat(1)), -3024);

    await owner.changeSettings({ seatMode: "freeToTake", maxSeatCount: 5 });
    await waitFor(list, "five seats", (s) => s.length === 5);
    await waitFor(bob.seatMode, "free to take", (m) => m === "freeToTake");

    const bobLog = new Recorder();
    bob.addSeatListener(bobLog.seat);
    await bob.takeSeat(1);
    await carol.takeSeat();
    await waitFor(list, "bob and carol seated", (s) => occupied(s).join() === "0:host_1,1:bob,2:carol");

    await bob.openLocalMicrophone();
    await waitFor(list, "bob's mic on", (s) => s[1]?.user?.microphoneOn === true);
    await waitFor(bobStore.coGuestState.connected, "mic in connected", (c) => c.some((u) => u.userID === "bob" && u.microphoneOn));
    await bob.openLocalCamera();
    await bob.closeLocalCamera();
    await bob.closeLocalMicrophone();
    await waitFor(list, "bob's devices off", (s) => s[1]?.user?.microphoneOn === false && s[1]?.user?.cameraOn === false);

    await owner.moveToSeat("bob", 2, "swap");
    await bobLog.expect("seat.movedToSeat 1->2 host_1");
    await waitFor(list, "swapped", (s) => occupied(s).join() === "0:host_1,1:carol,2:bob");
    await carol.moveUserToSeat("carol", 3); // a seated user moving itself to a free seat
    await waitFor(list, "carol on 3", (s) => occupied(s).join() === "0:host_1,2:bob,3:carol");
    assert.equal(await errorCode(owner.moveToSeat("bob", 3)), -2342);

    await owner.setUserDevicePermission("bob", "microphone", false);
    await bobLog.expect("seat.devicePermissionChanged microphone false user host_1");
    assert.equal(list.value[2]?.userMicrophoneDisallowed, true);
    assert.equal(await errorCode(bob.setDevice("microphone", true)), -3025);
    await owner.setSeatDevicePermission(2, "camera", false);
    await bobLog.expect("seat.devicePermissionChanged camera false 2 host_1");
    const seat2 = list.value[2];
    assert.ok(seat2 && seat2.seatCameraDisallowed && !deviceAllowed(seat2, "camera"));

    await owner.lockSeat(4);
    await waitFor(list, "seat 4 locked", (s) => s[4]?.isLocked === true);
    assert.equal(await errorCode(owner.lockSeat(4)), -3023);
    await owner.unlockSeat(4);
    await waitFor(list, "seat 4 unlocked", (s) => s[4]?.isLocked === false);

    await owner.moveToSeat("carol", 2, "forceReplace");
    await bobLog.expect("seat.kickedOffSeat 2 host_1");
    await waitFor(list, "carol replaced bob", (s) => occupied(s).join() === "0:host_1,2:carol");
    await bob.takeSeat(1);
    await owner.kickUserOffSeat("bob");
    await bobLog.expect("seat.kickedOffSeat 1 host_1");
    await carol.leaveSeat();
    await waitFor(list, "only the owner", (s) => occupied(s).join() === "0:host_1");
    assert.equal(await errorCode(carol.leaveSeat()), -2345);

    await owner.setAdmin("bob", true);
    await bobLog.expect("seat.roleChanged admin host_1");
    assert.equal(await errorCode(bob.setAdmin("carol", true)), -2300);
    await owner.setAdmin("bob", false);
    await bobLog.expect("seat.roleChanged audience host_1");

    await settle([ownerC, bobC, carolC]);
    assert.deepEqual(bobLog.drain(), []);
  });

  test("seat callbacks see the lists of their own version", async () => {
    const room = "seats-consistent";
    const [ownerC, ownerStore] = await member(room, "host_1", "owner");
    const [bobC, bobStore] = await member(room, "bob", "audience");
    const [carolC] = await member(room, "carol", "audience");
    const owner = ownerStore.liveSeatStore();
    const bob = bobStore.liveSeatStore();
    await owner.changeSettings({ seatMode: "freeToTake" });
    await waitFor(bob.seatMode, "free to take", (m) => m === "freeToTake");
    await bob.takeSeat(1);
    await waitFor(bob.seatList, "bob seated", (s) => occupied(s).includes("1:bob"));

    const state = bobStore.coGuestState;
    const seen: string[] = [];
    const seat1 = (): string => {
      const s = bob.seatList.value[1];
      return `mic_off=${s?.userMicrophoneDisallowed} cam_off=${s?.seatCameraDisallowed}`;
    };
    const roleView = (): string =>
      `role=${state.connected.value.find((u) => u.userID === "bob")?.role} candidates=${ids(state.candidates.value).join()}`;
    bob.addSeatListener({
      onDevicePermissionChanged: (device, allowed) => seen.push(`${device} ${allowed} | ${seat1()}`),
      onRoleChanged: (role) => seen.push(`${role} | ${roleView()}`),
    });

    await owner.setUserDevicePermission("bob", "microphone", false);
    await owner.setSeatDevicePermission(1, "camera", false);
    // Granted admin: bob's lists are replaced with a host's (carol shows as a candidate) before the callback.
    await owner.setAdmin("bob", true);
    await owner.setAdmin("bob", false);
    await settle([ownerC, bobC, carolC]);
    assert.deepEqual(seen, [
      "microphone false | mic_off=true cam_off=false",
      "camera false | mic_off=true cam_off=true",
      "admin | role=admin candidates=carol",
      "audience | role=audience candidates=",
    ]);
  });
});
