// The pure reducer, without a network: views, versions, resuming after any cut, snapshots,
// event mapping, and the points where the views hold a whole version.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ClientState, mapEvent, type StoreEvent, type Views } from "../src/state.js";
import { Observable, publish } from "../src/observable.js";
import type * as wire from "../src/wire.js";

const ROOM = "r1";

const user = (id: string): wire.LiveUserInfo => ({ user_id: id, user_name: id.toUpperCase(), avatar_url: "" });
const seatUser = (i: number, id: string, role: wire.Role): wire.SeatUserInfo => ({ seat_index: i, ...user(id), role });

function snapshot(version: number): wire.ServerMsg {
  return {
    t: "snapshot",
    room: ROOM,
    state: {
      version,
      connected: [seatUser(0, "host", "owner")],
      invitees: [],
      applicants: [],
      candidates: [user("bob"), user("carol")],
      seats: [{ seat_index: 0, user: seatUser(0, "host", "owner") }, { seat_index: 1 }],
    },
  };
}
const change = (version: number, c: wire.Change): wire.ServerMsg => ({ t: "change", room: ROOM, version, change: c });
const event = (version: number, e: wire.Event): wire.ServerMsg => ({ t: "event", room: ROOM, version, event: e });
const applied = (id: string): wire.Change => ({
  type: "applicant_added",
  applicant: { user: user(id), request_id: 1, seat_index: -1, deadline_ms: 0 },
});
const received = (id: string): wire.Event => ({
  type: "guest_application_received",
  guest_user: user(id),
  request_id: 1,
  seat_index: -1,
  extra_info: "hi",
});

/** Bob applies (version 11: its changes, then its event) and is accepted (version 12). */
function bobAppliesAndIsAccepted(): wire.ServerMsg[] {
  return [
    change(11, applied("bob")),
    change(11, { type: "candidate_removed", user_id: "bob" }),
    event(11, received("bob")),
    change(12, { type: "applicant_removed", user_id: "bob" }),
    change(12, {
      type: "seats",
      seats: [seatUser(0, "host", "owner"), seatUser(1, "bob", "audience")].map((u) => ({ seat_index: u.seat_index, user: u })),
    }),
  ];
}

const versionOf = (m: wire.ServerMsg): number => (m.t === "event" || m.t === "change" ? m.version : 0);
const ids = (users: ReadonlyArray<{ userID: string }>): string[] => users.map((u) => u.userID);

describe("ClientState", () => {
  test("a snapshot sets the views and the version", () => {
    const s = new ClientState(ROOM);
    assert.equal(s.resumeFrom(), null);
    assert.deepEqual(s.apply(snapshot(10)), []);
    const v = s.views();
    assert.equal(v.connected.length, 1);
    assert.equal(v.connected[0]?.role, "owner");
    assert.equal(v.connected[0]?.liveID, ROOM);
    assert.equal(v.connected[0]?.microphoneOn, false);
    assert.deepEqual(ids(v.candidates), ["bob", "carol"]);
    assert.equal(v.seats.length, 2);
    assert.equal(v.seats[1]?.user, null);
    assert.equal(v.seats[1]?.isLocked, false);
    assert.equal(v.seatMode, "applyToTake");
    assert.ok(Object.isFrozen(v.connected));
    assert.equal(s.version, 10);
    assert.equal(s.resumeFrom(), 10);
  });

  test("events and changes apply in order", () => {
    const s = new ClientState(ROOM);
    s.apply(snapshot(10));
    const events = bobAppliesAndIsAccepted().flatMap((m) => s.apply(m));
    assert.deepEqual(events, [
      {
        kind: "host",
        event: {
          type: "guestApplicationReceived",
          guestUser: { userID: "bob", userName: "BOB", avatarURL: "" },
          seatIndex: -1,
          extraInfo: "hi",
        },
      },
    ]);
    const v = s.views();
    assert.deepEqual(v.applicants, []);
    assert.deepEqual(ids(v.candidates), ["carol"]);
    assert.equal(v.connected[1]?.userID, "bob");
    assert.equal(v.connected[1]?.role, "audience");
    assert.equal(s.version, 12);
  });

  test("other rooms and old versions are ignored", () => {
    const s = new ClientState(ROOM);
    s.apply(snapshot(10));
    assert.deepEqual(s.apply({ t: "event", room: "other", version: 11, event: received("bob") }), []);
    assert.deepEqual(s.apply(event(9, received("bob"))), []);
    // Version 10 came with the snapshot: nothing of it is applied again.
    assert.deepEqual(s.apply(event(10, received("bob"))), []);
    assert.deepEqual(s.views().applicants, []);
  });

  test("resuming after a cut anywhere loses and repeats nothing", () => {
    const msgs = bobAppliesAndIsAccepted();
    const whole = new ClientState(ROOM);
    whole.apply(snapshot(10));
    const expected = msgs.flatMap((m) => whole.apply(m));
    for (let cut = 0; cut <= msgs.length; cut++) {
      const s = new ClientState(ROOM);
      s.apply(snapshot(10));
      const events: StoreEvent[] = msgs.slice(0, cut).flatMap((m) => s.apply(m));
      const since = s.resumeFrom() ?? 0;
      // The server replays every message with a version above `since`, then `resumed`.
      for (const m of msgs.filter((x) => versionOf(x) > since)) events.push(...s.apply(m));
      s.apply({ t: "resumed", room: ROOM, version: 12 });
      assert.deepEqual(events, expected, `cut at ${cut}`);
      assert.deepEqual(s.views(), whole.views(), `cut at ${cut}`);
      assert.equal(s.resumeFrom(), 12);
    }
  });

  test("a fresh snapshot on resume replaces the views without events", () => {
    const s = new ClientState(ROOM);
    s.apply(snapshot(10));
    s.apply(change(11, applied("bob")));
    assert.equal(s.resumeFrom(), 10);
    assert.deepEqual(s.apply(snapshot(20)), []);
    assert.deepEqual(s.views().applicants, []);
    assert.equal(s.version, 20);
    assert.deepEqual(s.apply(event(11, received("bob"))), []);
    assert.equal(s.apply(event(21, received("dave"))).length, 1);
  });

  test("resumed moves the version forward", () => {
    const s = new ClientState(ROOM);
    s.apply(snapshot(10));
    s.apply({ t: "resumed", room: ROOM, version: 15 });
    assert.equal(s.resumeFrom(), 15);
    assert.deepEqual(s.apply(event(15, received("bob"))), []);
    assert.equal(s.apply(event(16, received("bob"))).length, 1);
  });

  test("invitees are listed once per user", () => {
    const s = new ClientState(ROOM);
    s.apply(snapshot(10));
    for (const [v, inviter] of [
      [11, "host"],
      [12, "admin"],
    ] as const) {
      s.apply(change(v, { type: "invitee_added", invitee: { user: user("bob"), inviter_id: inviter, request_id: v, seat_index: -1, deadline_ms: 0 } }));
    }
    assert.equal(s.wireView.invitees.length, 2);
    assert.deepEqual(ids(s.views().invitees), ["bob"]);
    s.apply(change(13, { type: "invitee_removed", user_id: "bob", inviter_id: "host" }));
    assert.deepEqual(ids(s.views().invitees), ["bob"]);
  });

  test("every wire event maps to its side, a kick to both guest and seat", () => {
    const h = user("host");
    const g = user("bob");
    const kinds = (e: wire.Event): string => mapEvent(e).kind;
    assert.equal(kinds(received("bob")), "host");
    assert.equal(kinds({ type: "guest_application_cancelled", guest_user: g }), "host");
    assert.equal(kinds({ type: "guest_application_processed_by_other_host", guest_user: g, host_user: h }), "host");
    assert.equal(kinds({ type: "host_invitation_responded", is_accept: true, guest_user: g }), "host");
    assert.deepEqual(mapEvent({ type: "host_invitation_no_response", guest_user: g, reason: "already_seated" }), {
      kind: "host",
      event: { type: "hostInvitationNoResponse", guestUser: { userID: "bob", userName: "BOB", avatarURL: "" }, reason: 1 },
    });
    assert.equal(kinds({ type: "host_invitation_received", host_user: h, request_id: 1, seat_index: 2 }), "guest");
    assert.equal(kinds({ type: "host_invitation_cancelled", host_user: h }), "guest");
    assert.equal(kinds({ type: "guest_application_responded", is_accept: false, host_user: h }), "guest");
    assert.deepEqual(mapEvent({ type: "guest_application_no_response", reason: "timeout" }), {
      kind: "guest",
      event: { type: "guestApplicationNoResponse", reason: 0 },
    });
    assert.equal(kinds({ type: "moved_to_seat", from_seat_index: 1, to_seat_index: 2, host_user: h }), "seat");
    assert.equal(kinds({ type: "device_permission_changed", device: "camera", allowed: false, host_user: h }), "seat");
    assert.equal(kinds({ type: "role_changed", role: "admin", by_user: h }), "seat");
    const s = new ClientState(ROOM);
    s.apply(snapshot(10));
    const kick = s.apply(event(11, { type: "kicked_off_seat", seat_index: 1, host_user: h }));
    assert.deepEqual(
      kick.map((e) => `${e.kind}.${e.event.type}`),
      ["guest.kickedOffSeat", "seat.kickedOffSeat"],
    );
  });

  test("views are published only as whole versions", () => {
    // Replays the stream the way the actor does and records every published view.
    const s = new ClientState(ROOM);
    const published: string[] = [];
    const render = (v: Views): string =>
      `applicants=${ids(v.applicants).join()} candidates=${ids(v.candidates).join()} connected=${ids(v.connected).join()}`;
    const feed = (m: wire.ServerMsg): string[] => {
      const soon: string[] = [];
      if (s.publishBefore(m)) published.push(render(s.takeViews()));
      const events = s.apply(m);
      const when = s.publishAfter(m, events);
      if (when === "now") published.push(render(s.takeViews()));
      if (when === "soon") soon.push("soon");
      return soon;
    };
    feed(snapshot(10));
    assert.deepEqual(published, ["applicants= candidates=bob,carol connected=host"]);
    const msgs = bobAppliesAndIsAccepted();
    // Version 11's two changes wait for its event; version 12's first change waits (soon)...
    assert.deepEqual(feed(msgs[0]!), ["soon"]);
    assert.deepEqual(feed(msgs[1]!), ["soon"]);
    assert.equal(published.length, 1, "half of version 11 is never published");
    feed(msgs[2]!);
    assert.equal(published[1], "applicants=bob candidates=carol connected=host");
    feed(msgs[3]!);
    assert.equal(published.length, 2, "half of version 12 is never published");
    feed(msgs[4]!);
    // ...and an ack of version 12 (or a later message) publishes it whole.
    assert.equal(s.publishOnAck(11), false);
    assert.equal(s.publishOnAck(12), true);
    published.push(render(s.takeViews()));
    assert.equal(published[2], "applicants= candidates=carol connected=host,bob");
    assert.equal(s.dirty, false);
  });
});

describe("Observable", () => {
  test("a batch sets every value before any subscriber runs, and equal values are not announced", () => {
    const a = new Observable<readonly string[]>([]);
    const b = new Observable<readonly string[]>([]);
    const seen: string[] = [];
    a.subscribe((v) => seen.push(`a=${v.join()} b=${b.value.join()}`));
    b.subscribe((v) => seen.push(`b=${v.join()} a=${a.value.join()}`));
    publish([
      [a, ["x"]],
      [b, ["y"]],
    ]);
    publish([
      [a, ["x"]],
      [b, ["z"]],
    ]);
    assert.deepEqual(seen, ["a=x b=y", "b=y a=x", "b=z a=x"]);
  });

  test("a throwing subscriber does not stop the others; unsubscribing inside a notification works", () => {
    const o = new Observable(0);
    const seen: number[] = [];
    const original = console.error;
    let reported = 0;
    console.error = () => reported++;
    try {
      const offs: Array<() => void> = [];
      offs.push(o.subscribe(() => offs[1]?.()));
      offs.push(o.subscribe((v) => seen.push(v)));
      o.subscribe(() => {
        throw new Error("boom");
      });
      o.subscribe((v) => seen.push(v * 10));
      o.replace(1);
      o.notify();
    } finally {
      console.error = original;
    }
    assert.deepEqual(seen, [10]);
    assert.equal(reported, 1);
  });
});
