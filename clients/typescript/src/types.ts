/**
 * The SDK's public data types: users, seats, the observable state and the event unions.
 *
 * Mirrors `crates/coguest-client/src/types.rs` (and the data types of `seat.rs`).
 * @module
 */

import type { ReadonlyObservable } from "./observable.js";

/** A member's role in a room, from its token: hosts are `"owner"` and `"admin"`. */
export type Role = "owner" | "admin" | "audience";

/** Whether a role is a host's (owner or admin). */
export function isHost(role: Role): boolean {
  return role === "owner" || role === "admin";
}

/** The reference `LiveUserInfo`: who a user is. */
export interface LiveUserInfo {
  /** User id. */
  readonly userID: string;
  /** Display name (from the user's token; may be empty). */
  readonly userName: string;
  /** Avatar URL (from the user's token; may be empty). */
  readonly avatarURL: string;
}

/** The reference `SeatUserInfo`: a user on a seat. */
export interface SeatUserInfo extends LiveUserInfo {
  /** Seat index (0 is the owner's seat when the room keeps its owner on seat). */
  readonly seatIndex: number;
  /** The user's role. */
  readonly role: Role;
  /** The live room id this seat belongs to. */
  readonly liveID: string;
  /** Microphone open. */
  readonly microphoneOn: boolean;
  /** Camera open. */
  readonly cameraOn: boolean;
}

/** A seated user's media device. */
export type Device = "microphone" | "camera";

/** How members get onto seats: apply (or be invited), or also take a free seat directly. */
export type SeatMode = "applyToTake" | "freeToTake";

/**
 * Why the server closed a room (`CoGuestStore.closedReason`): `"closed"` by the admin
 * API, `"lost"` when a cluster's Redis lost the room's data (restarted without persistence,
 * flushed): the room is gone, and joining it again starts an empty one.
 */
export type ClosedReason = "closed" | "lost";

/** What {@link LiveSeatStore.moveToSeat} does when the target seat is occupied. */
export type MovePolicy = "abortWhenOccupied" | "forceReplace" | "swap";

/** One seat, empty or not (the reference `SeatInfo`). */
export interface SeatInfo {
  /** Seat index. */
  readonly seatIndex: number;
  /** The occupant, if any (with its `microphoneOn` / `cameraOn`). */
  readonly user: SeatUserInfo | null;
  /** Whether the seat is locked (it cannot be taken, applied for or assigned). */
  readonly isLocked: boolean;
  /** A host disallowed the microphone on this seat. */
  readonly seatMicrophoneDisallowed: boolean;
  /** A host disallowed the camera on this seat. */
  readonly seatCameraDisallowed: boolean;
  /** A host disallowed the occupant's microphone. */
  readonly userMicrophoneDisallowed: boolean;
  /** A host disallowed the occupant's camera. */
  readonly userCameraDisallowed: boolean;
}

/** Whether the occupant of `seat` may open `device` (no host disallowed it for the user or the seat). */
export function deviceAllowed(seat: SeatInfo, device: Device): boolean {
  return device === "microphone"
    ? !seat.seatMicrophoneDisallowed && !seat.userMicrophoneDisallowed
    : !seat.seatCameraDisallowed && !seat.userCameraDisallowed;
}

/**
 * Why a request closed without an answer (the reference `NoResponseReason`):
 * `NoResponseReason.timeout` (0) or `NoResponseReason.alreadySeated` (1).
 */
export const NoResponseReason = {
  /** The request timed out. */
  timeout: 0,
  /** The user got a seat by another path, so the request no longer applies. */
  alreadySeated: 1,
} as const;

/** A {@link NoResponseReason} value: `0` (timeout) or `1` (already seated). */
export type NoResponseReason = (typeof NoResponseReason)[keyof typeof NoResponseReason];

/**
 * The reference `CoGuestState`: four observable lists.
 *
 * Each list is replaced (never mutated) once per room version that changes it, and every
 * list of a version is set before any subscriber runs, so a subscriber never sees half a
 * change (an accepted applicant gone from `applicants` but not yet in `connected`, say). The
 * lists are updated *before* the listener callbacks of the same version run. After a
 * reconnect that had to fall back to a fresh snapshot, the lists are replaced by the
 * snapshot's.
 */
export interface CoGuestState {
  /** Users on seats, in seat order. */
  readonly connected: ReadonlyObservable<readonly SeatUserInfo[]>;
  /**
   * Users with a pending invitation. Hosts see every invitee; other members see themselves
   * while they hold an invitation. A user invited by two hosts is listed once.
   */
  readonly invitees: ReadonlyObservable<readonly LiveUserInfo[]>;
  /**
   * Users with a pending application, in application order. Hosts see every applicant; other
   * members see themselves while applying.
   */
  readonly applicants: ReadonlyObservable<readonly LiveUserInfo[]>;
  /**
   * Members who could be invited (present, not seated, nothing pending), in joining order and
   * capped by the server (default 100). Hosts see the list; others see at most themselves.
   */
  readonly candidates: ReadonlyObservable<readonly LiveUserInfo[]>;
}

/**
 * An applicant's place in its room's application queue: pending applications in the order
 * the server received them (not a client's clock). See `CoGuestStore.queuePosition`.
 */
export interface QueuePosition {
  /** 1 for the first in line, up to `length`. */
  readonly position: number;
  /** Pending applications in the room. */
  readonly length: number;
}

/** Host-side events, one per {@link HostListener} callback. */
export type HostEvent =
  | {
      readonly type: "guestApplicationReceived";
      readonly guestUser: LiveUserInfo;
      /** Seat asked for; `-1` for any. */
      readonly seatIndex: number;
      /** The applicant's free-form data. */
      readonly extraInfo: string | null;
    }
  | { readonly type: "guestApplicationCancelled"; readonly guestUser: LiveUserInfo }
  | {
      readonly type: "guestApplicationProcessedByOtherHost";
      readonly guestUser: LiveUserInfo;
      readonly hostUser: LiveUserInfo;
    }
  | {
      readonly type: "hostInvitationResponded";
      readonly isAccept: boolean;
      readonly guestUser: LiveUserInfo;
    }
  | {
      readonly type: "hostInvitationNoResponse";
      readonly guestUser: LiveUserInfo;
      readonly reason: NoResponseReason;
    };

/** Guest-side events, one per {@link GuestListener} callback. */
export type GuestEvent =
  | {
      readonly type: "hostInvitationReceived";
      readonly hostUser: LiveUserInfo;
      /** Seat offered; `-1` for any. */
      readonly seatIndex: number;
      /** The host's free-form data. */
      readonly extraInfo: string | null;
    }
  | { readonly type: "hostInvitationCancelled"; readonly hostUser: LiveUserInfo }
  | {
      readonly type: "guestApplicationResponded";
      readonly isAccept: boolean;
      readonly hostUser: LiveUserInfo;
    }
  | { readonly type: "guestApplicationNoResponse"; readonly reason: NoResponseReason }
  | {
      readonly type: "kickedOffSeat";
      readonly seatIndex: number;
      readonly hostUser: LiveUserInfo;
    };

/** Seat-layer events, one per {@link SeatListener} callback. */
export type SeatEvent =
  | {
      readonly type: "kickedOffSeat";
      readonly seatIndex: number;
      readonly hostUser: LiveUserInfo;
    }
  | {
      readonly type: "movedToSeat";
      readonly fromSeatIndex: number;
      readonly toSeatIndex: number;
      readonly hostUser: LiveUserInfo;
    }
  | {
      readonly type: "devicePermissionChanged";
      readonly device: Device;
      readonly allowed: boolean;
      /** The seat, for a per-seat change; `null` for a per-user one. */
      readonly seatIndex: number | null;
      readonly hostUser: LiveUserInfo;
    }
  | {
      readonly type: "roleChanged";
      readonly role: Role;
      readonly byUser: LiveUserInfo;
    };

/** A pending application as an observer sees it ({@link RoomObserver.applications}). */
export interface Application {
  /** The applicant. */
  readonly user: LiveUserInfo;
  /** The application's id. */
  readonly requestID: number;
  /** Seat asked for; `-1` for any. */
  readonly seatIndex: number;
  /** When it times out (Unix ms, server clock). */
  readonly deadlineMs: number;
  /** When it was made (Unix ms, server clock), or `null` when the server does not know. */
  readonly requestedMs: number | null;
  /** The applicant's free-form data. */
  readonly extraInfo: string | null;
}

/** A pending invitation as an observer sees it ({@link RoomObserver.invitations}). */
export interface Invitation {
  /** The invitee. */
  readonly user: LiveUserInfo;
  /** The inviting host's id (`@operator` for the admin API). */
  readonly inviterID: string;
  /** The invitation's id. */
  readonly requestID: number;
  /** Seat offered; `-1` for any. */
  readonly seatIndex: number;
  /** When it times out (Unix ms, server clock). */
  readonly deadlineMs: number;
  /** When it was made (Unix ms, server clock), or `null` when the server does not know. */
  readonly requestedMs: number | null;
}

/**
 * One room transition in an observer's event log, with who caused it: the webhook body's
 * fields (see the server's `docs/WEBHOOKS.md` for every `type` and its `data`).
 */
export interface LogEntry {
  /** The room version the transition produced. */
  readonly version: number;
  /** Its position among the transitions of that version. */
  readonly n: number;
  /** What happened: `member_joined`, `application_created`, `seated`, `kicked`, ... */
  readonly type: string;
  /** The user who caused it; `"@operator"` for the admin API; `null` when a deadline fired. */
  readonly actor: string | null;
  /** When (Unix ms, server clock). */
  readonly atMs: number;
  /** The transition's fields (`user_id`, `seat_index`, `inviter_id`, ...). */
  readonly data: Readonly<Record<string, unknown>>;
}

/** One room at a glance ({@link RoomsObserver.rooms}). */
export interface RoomSummary {
  /** The room id. */
  readonly roomID: string;
  /** Its version (each change bumps it). */
  readonly version: number;
  /** Number of seats. */
  readonly seatCount: number;
  /** Occupied seats. */
  readonly seated: number;
  /** Members present (connected, or within their reconnect grace period). */
  readonly members: number;
  /** Pending applications. */
  readonly applications: number;
  /** Pending invitations. */
  readonly invitations: number;
  /** The seat mode. */
  readonly seatMode: SeatMode;
  /** When the room last changed (Unix ms, server clock), or `null` when the server does not know. */
  readonly lastChangeMs: number | null;
}
