/**
 * The pure client reducer: server messages in, views and listener events out. No IO, no
 * clock, no timers, so it is tested without a network.
 *
 * One {@link ClientState} per joined room. It keeps the room's views as this user sees them
 * and where it is in the room's version sequence, so that after a reconnect it can ask the
 * server to resume exactly where it stopped ({@link ClientState.resumeFrom}) and drop anything
 * the server sends twice.
 *
 * A single room mutation (one version) may produce several messages for one user (view
 * changes, then events, all carrying that version), and a connection can drop in the middle
 * of them. The reducer counts how many messages of the newest version it has applied; when
 * that version might be incomplete it resumes from the version before and skips the messages
 * of the newest version it already has. Replays are deterministic, so nothing is lost or
 * applied twice.
 *
 * It also says when the views hold a *whole* version, so that subscribers never see half of
 * one ({@link ClientState.publishBefore}, {@link ClientState.publishAfter}): a version's
 * changes come before its events, so its first event, a message of a newer version, a
 * snapshot, `resumed`, or an ack of that version or later, each mean that every change of the
 * version has arrived.
 *
 * Mirrors `crates/coguest-client/src/state.rs`.
 * @module
 */

import type * as wire from "./wire.js";
import type {
  Application,
  GuestEvent,
  Invitation,
  LogEntry,
  RoomSummary,
  HostEvent,
  LiveUserInfo,
  MovePolicy,
  NoResponseReason,
  QueuePosition,
  Role,
  SeatEvent,
  SeatInfo,
  SeatMode,
  SeatUserInfo,
} from "./types.js";

/** An event for one store's listeners. */
export type StoreEvent =
  | { readonly kind: "host"; readonly event: HostEvent }
  | { readonly kind: "guest"; readonly event: GuestEvent }
  | { readonly kind: "seat"; readonly event: SeatEvent };

/** The SDK-level lists of one room, as published to the observables. */
export interface Views {
  readonly connected: readonly SeatUserInfo[];
  readonly invitees: readonly LiveUserInfo[];
  readonly applicants: readonly LiveUserInfo[];
  readonly candidates: readonly LiveUserInfo[];
  readonly seats: readonly SeatInfo[];
  readonly seatMode: SeatMode;
  /** This user's place in the application queue, while it has a pending application. */
  readonly queuePosition: QueuePosition | null;
}

/** Empty views (before a snapshot, or after the room closed). */
export const EMPTY_VIEWS: Views = Object.freeze({
  connected: Object.freeze([]),
  invitees: Object.freeze([]),
  applicants: Object.freeze([]),
  candidates: Object.freeze([]),
  seats: Object.freeze([]),
  seatMode: "applyToTake",
  queuePosition: null,
});

/** An observer's lists: requests with their ids, seats and times, and the room version. */
export interface ObserverViews {
  readonly version: number;
  readonly applications: readonly Application[];
  readonly invitations: readonly Invitation[];
}

/** What the reducer says after a message: publish the views now, soon (a timer), or not. */
export type Publish = "now" | "soon" | "no";

function emptyWireState(): wire.CoGuestState {
  return { version: 0, connected: [], invitees: [], applicants: [], candidates: [], seats: [], seat_mode: "apply_to_take" };
}

/** One room as this client sees it. */
export class ClientState {
  /** The room. */
  readonly room: string;
  #view: wire.CoGuestState = emptyWireState();
  /** A snapshot has been applied, so the views are meaningful and a reconnect can resume. */
  #hasSnapshot = false;
  /** The newest version applied. */
  #version = 0;
  /** How many messages carrying `#version` were applied. */
  #seenAtVersion = 0;
  /** Whether every message of `#version` is known to be applied. */
  #complete = true;
  /** Messages of `#version` still to drop: the server is replaying ones already applied. */
  #skip = 0;
  /** The version of views changed since they were last published, if any. */
  #dirty: number | null = null;

  /** An empty state for `room`, before its first snapshot. */
  constructor(room: string) {
    this.room = room;
  }

  /** The newest room version applied. */
  get version(): number {
    return this.#version;
  }

  /** The wire view (with request ids and deadlines). */
  get wireView(): Readonly<wire.CoGuestState> {
    return this.#view;
  }

  /**
   * The `since` to send with `join` on a reconnect, or `null` for a fresh join (no snapshot
   * yet). Call once per join attempt: it arms the duplicate filter for the replay.
   */
  resumeFrom(): number | null {
    if (!this.#hasSnapshot) return null;
    if (this.#complete || this.#version === 0) {
      this.#skip = 0;
      return this.#version;
    }
    this.#skip = this.#seenAtVersion;
    return this.#version - 1;
  }

  /**
   * Whether the views must be published *before* applying `msg`: they hold changes of an
   * older version, which is therefore whole (one connection delivers a version's messages
   * back to back). Not before a snapshot: it replaces the views, and what they hold may be
   * the first half of a version cut by a dropped connection.
   */
  publishBefore(msg: wire.ServerMsg): boolean {
    if (this.#dirty === null || !isForRoom(msg, this.room)) return false;
    return (msg.t === "event" || msg.t === "change") && msg.version > this.#dirty;
  }

  /**
   * Applies one server message about this room and returns the listener events it produced,
   * in order. Messages for other rooms, acks and errors are ignored here.
   */
  apply(msg: wire.ServerMsg): StoreEvent[] {
    if (!isForRoom(msg, this.room)) return [];
    switch (msg.t) {
      case "snapshot":
        this.#view = normalize(msg.state);
        this.#hasSnapshot = true;
        this.#version = msg.state.version;
        this.#seenAtVersion = 0;
        this.#complete = true;
        this.#skip = 0;
        this.#dirty = this.#version;
        return [];
      case "resumed":
        if (msg.version > this.#version) {
          this.#version = msg.version;
          this.#seenAtVersion = 0;
        }
        this.#view.version = this.#version;
        this.#complete = true;
        this.#skip = 0;
        return [];
      case "change":
        if (this.#admit(msg.version)) {
          applyChange(this.#view, msg.version, msg.change);
          this.#dirty = msg.version;
        }
        return [];
      case "event": {
        if (!this.#admit(msg.version)) return [];
        const out: StoreEvent[] = [mapEvent(msg.event)];
        // A kick is both a guest callback (reference) and a seat callback.
        if (msg.event.type === "kicked_off_seat") {
          out.push({
            kind: "seat",
            event: { type: "kickedOffSeat", seatIndex: msg.event.seat_index, hostUser: user(msg.event.host_user) },
          });
        }
        return out;
      }
      default:
        return [];
    }
  }

  /**
   * After {@link ClientState.apply}: whether to publish the views now (they hold a whole
   * version), soon (changes of a version whose end is not known yet; the caller publishes
   * after a short delay unless something else closes the version first), or not at all.
   */
  publishAfter(msg: wire.ServerMsg, events: readonly StoreEvent[]): Publish {
    if (this.#dirty === null) return "no";
    if (msg.t === "snapshot" || msg.t === "resumed" || events.length > 0) return "now";
    return msg.t === "change" ? "soon" : "no";
  }

  /** Whether an ack for this room at `version` closes the pending version (publish now). */
  publishOnAck(version: number | null | undefined): boolean {
    return this.#dirty !== null && version !== null && version !== undefined && version >= this.#dirty;
  }

  /** Whether views changed since the last {@link ClientState.takeViews}. */
  get dirty(): boolean {
    return this.#dirty !== null;
  }

  /** The views to publish; marks them published. */
  takeViews(): Views {
    this.#dirty = null;
    return this.views();
  }

  /** Decides whether a versioned message is new, updating the counters. */
  #admit(version: number): boolean {
    if (version < this.#version) return false;
    if (version === this.#version) {
      if (this.#skip > 0) {
        this.#skip -= 1;
        return false;
      }
      // Everything of `version` came with a snapshot or before `resumed`.
      if (this.#complete) return false;
      this.#seenAtVersion += 1;
      return true;
    }
    this.#version = version;
    this.#seenAtVersion = 1;
    this.#complete = false;
    this.#skip = 0;
    return true;
  }

  /** An observer's lists, from the wire view (frozen). */
  observerViews(): ObserverViews {
    const v = this.#view;
    return Object.freeze({
      version: this.#version,
      applications: Object.freeze(
        v.applicants.map((a) =>
          Object.freeze({
            user: user(a.user),
            requestID: a.request_id,
            seatIndex: a.seat_index,
            deadlineMs: a.deadline_ms,
            requestedMs: a.requested_ms ?? null,
            extraInfo: a.extra_info ?? null,
          }),
        ),
      ),
      invitations: Object.freeze(
        v.invitees.map((i) =>
          Object.freeze({
            user: user(i.user),
            inviterID: i.inviter_id,
            requestID: i.request_id,
            seatIndex: i.seat_index,
            deadlineMs: i.deadline_ms,
            requestedMs: i.requested_ms ?? null,
          }),
        ),
      ),
    });
  }

  /** The SDK-level lists (frozen). */
  views(): Views {
    const v = this.#view;
    const invitees: LiveUserInfo[] = [];
    for (const i of v.invitees) {
      if (!invitees.some((u) => u.userID === i.user.user_id)) invitees.push(user(i.user));
    }
    const seats = v.seats ?? [];
    const connected = v.connected.map((s) => {
      const seat = seats.find((x) => x.seat_index === s.seat_index);
      return seatUser(s, this.room, seat?.devices_on);
    });
    return Object.freeze({
      connected: Object.freeze(connected),
      invitees: Object.freeze(invitees),
      applicants: Object.freeze(v.applicants.map((a) => user(a.user))),
      candidates: Object.freeze(v.candidates.map(user)),
      seats: Object.freeze(seats.map((s) => seatInfo(s, this.room))),
      seatMode: seatModeFromWire(v.seat_mode ?? "apply_to_take"),
      queuePosition: v.queue ? Object.freeze({ position: v.queue.position, length: v.queue.length }) : null,
    });
  }
}

function isForRoom(msg: wire.ServerMsg, room: string): boolean {
  return (
    (msg.t === "snapshot" || msg.t === "event" || msg.t === "change" || msg.t === "resumed") &&
    msg.room === room
  );
}

/** A wire state with its optional lists filled in, owned by the reducer. */
function normalize(s: wire.CoGuestState): wire.CoGuestState {
  return {
    ...s,
    connected: [...s.connected],
    invitees: [...s.invitees],
    applicants: [...s.applicants],
    candidates: [...s.candidates],
    seats: [...(s.seats ?? [])],
    seat_mode: s.seat_mode ?? "apply_to_take",
    queue: s.queue ?? null,
  };
}

/** Applies one change, as `CoGuestState::apply` in `coguest-proto` does. */
export function applyChange(s: wire.CoGuestState, version: number, change: wire.Change): void {
  s.version = Math.max(s.version, version);
  switch (change.type) {
    case "applicant_added":
      s.applicants = s.applicants.filter((a) => a.user.user_id !== change.applicant.user.user_id);
      s.applicants.push(change.applicant);
      return;
    case "applicant_removed":
      s.applicants = s.applicants.filter((a) => a.user.user_id !== change.user_id);
      return;
    case "invitee_added":
      s.invitees = s.invitees.filter(
        (i) => !(i.user.user_id === change.invitee.user.user_id && i.inviter_id === change.invitee.inviter_id),
      );
      s.invitees.push(change.invitee);
      return;
    case "invitee_removed":
      s.invitees = s.invitees.filter((i) => !(i.user.user_id === change.user_id && i.inviter_id === change.inviter_id));
      return;
    case "candidate_added":
      s.candidates = s.candidates.filter((c) => c.user_id !== change.user.user_id);
      s.candidates.push(change.user);
      return;
    case "candidate_removed":
      s.candidates = s.candidates.filter((c) => c.user_id !== change.user_id);
      return;
    case "seats":
      // `connected` is the seat list's occupants, in seat order.
      s.connected = change.seats.flatMap((x) => (x.user ? [x.user] : []));
      s.seats = [...change.seats];
      return;
    case "settings":
      s.seat_mode = change.seat_mode;
      return;
    case "reset":
      Object.assign(s, normalize(change.state));
      return;
    case "queue_position":
      s.queue = change.queue ?? null;
      return;
  }
}

/** @internal */
export function user(u: wire.LiveUserInfo): LiveUserInfo {
  return Object.freeze({ userID: u.user_id, userName: u.user_name, avatarURL: u.avatar_url });
}

/** @internal */
export function roleFromWire(r: wire.Role): Role {
  return r;
}

function seatUser(s: wire.SeatUserInfo, liveID: string, devices: wire.DeviceFlags | undefined): SeatUserInfo {
  return Object.freeze({
    userID: s.user_id,
    userName: s.user_name,
    avatarURL: s.avatar_url,
    seatIndex: s.seat_index,
    role: roleFromWire(s.role),
    liveID,
    microphoneOn: devices?.microphone ?? false,
    cameraOn: devices?.camera ?? false,
  });
}

function seatInfo(s: wire.SeatInfo, liveID: string): SeatInfo {
  return Object.freeze({
    seatIndex: s.seat_index,
    user: s.user ? seatUser(s.user, liveID, s.devices_on) : null,
    isLocked: s.locked ?? false,
    seatMicrophoneDisallowed: s.seat_disallowed?.microphone ?? false,
    seatCameraDisallowed: s.seat_disallowed?.camera ?? false,
    userMicrophoneDisallowed: s.user_disallowed?.microphone ?? false,
    userCameraDisallowed: s.user_disallowed?.camera ?? false,
  });
}

/** @internal */
export function seatModeFromWire(m: wire.SeatMode): SeatMode {
  return m === "free_to_take" ? "freeToTake" : "applyToTake";
}

/** @internal */
export function seatModeToWire(m: SeatMode): wire.SeatMode {
  return m === "freeToTake" ? "free_to_take" : "apply_to_take";
}

/** @internal */
export function movePolicyToWire(p: MovePolicy): wire.MovePolicy {
  switch (p) {
    case "abortWhenOccupied":
      return "abort_when_occupied";
    case "forceReplace":
      return "force_replace";
    case "swap":
      return "swap";
  }
}

function reason(r: wire.NoResponseReason): NoResponseReason {
  return r === "timeout" ? 0 : 1;
}

/** The wire event as an SDK event. */
export function mapEvent(e: wire.Event): StoreEvent {
  switch (e.type) {
    case "guest_application_received":
      return {
        kind: "host",
        event: {
          type: "guestApplicationReceived",
          guestUser: user(e.guest_user),
          seatIndex: e.seat_index,
          extraInfo: e.extra_info ?? null,
        },
      };
    case "guest_application_cancelled":
      return { kind: "host", event: { type: "guestApplicationCancelled", guestUser: user(e.guest_user) } };
    case "guest_application_processed_by_other_host":
      return {
        kind: "host",
        event: {
          type: "guestApplicationProcessedByOtherHost",
          guestUser: user(e.guest_user),
          hostUser: user(e.host_user),
        },
      };
    case "host_invitation_responded":
      return {
        kind: "host",
        event: { type: "hostInvitationResponded", isAccept: e.is_accept, guestUser: user(e.guest_user) },
      };
    case "host_invitation_no_response":
      return {
        kind: "host",
        event: { type: "hostInvitationNoResponse", guestUser: user(e.guest_user), reason: reason(e.reason) },
      };
    case "host_invitation_received":
      return {
        kind: "guest",
        event: {
          type: "hostInvitationReceived",
          hostUser: user(e.host_user),
          seatIndex: e.seat_index,
          extraInfo: e.extra_info ?? null,
        },
      };
    case "host_invitation_cancelled":
      return { kind: "guest", event: { type: "hostInvitationCancelled", hostUser: user(e.host_user) } };
    case "guest_application_responded":
      return {
        kind: "guest",
        event: { type: "guestApplicationResponded", isAccept: e.is_accept, hostUser: user(e.host_user) },
      };
    case "guest_application_no_response":
      return { kind: "guest", event: { type: "guestApplicationNoResponse", reason: reason(e.reason) } };
    case "kicked_off_seat":
      return {
        kind: "guest",
        event: { type: "kickedOffSeat", seatIndex: e.seat_index, hostUser: user(e.host_user) },
      };
    case "moved_to_seat":
      return {
        kind: "seat",
        event: {
          type: "movedToSeat",
          fromSeatIndex: e.from_seat_index,
          toSeatIndex: e.to_seat_index,
          hostUser: user(e.host_user),
        },
      };
    case "device_permission_changed":
      return {
        kind: "seat",
        event: {
          type: "devicePermissionChanged",
          device: e.device,
          allowed: e.allowed,
          seatIndex: e.seat_index ?? null,
          hostUser: user(e.host_user),
        },
      };
    case "role_changed":
      return { kind: "seat", event: { type: "roleChanged", role: roleFromWire(e.role), byUser: user(e.by_user) } };
  }
}

/** @internal A wire log entry as the SDK's. */
export function logEntry(e: wire.LogEntry): LogEntry {
  return Object.freeze({
    version: e.version,
    n: e.n,
    type: e.type,
    actor: e.actor ?? null,
    atMs: e.at_ms,
    data: Object.freeze({ ...e.data }),
  });
}

/** @internal A wire room summary as the SDK's. */
export function roomSummary(s: wire.RoomSummary): RoomSummary {
  return Object.freeze({
    roomID: s.room,
    version: s.version,
    seatCount: s.seat_count,
    seated: s.seated,
    members: s.members,
    applications: s.applicants,
    invitations: s.invitees,
    seatMode: seatModeFromWire(s.seat_mode),
    lastChangeMs: s.last_change_ms ?? null,
  });
}
