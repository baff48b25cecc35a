/**
 * {@link CoGuestStore}: one joined room, with the reference API.
 *
 * Mirrors `crates/coguest-client/src/store.rs`.
 * @module
 */

import type { Client, RoomHandle } from "./client.js";
import type { GuestListener, HostListener } from "./listener.js";
import { LiveSeatStore } from "./seat.js";
import { removeOnce } from "./shared.js";
import type { ReadonlyObservable } from "./observable.js";
import type { ClosedReason, CoGuestState, QueuePosition } from "./types.js";

/** Arguments of {@link CoGuestStore.applyForSeat}. */
export interface ApplyForSeatOptions {
  /** Seat index; `-1` (the default) asks for any seat. */
  readonly seatIndex?: number;
  /** How long the hosts have to answer, in seconds (the server's bounds: 1 to 600 by default). */
  readonly timeout: number;
  /** Free-form data shown to the hosts. */
  readonly extraInfo?: string | null;
}

/** Arguments of {@link CoGuestStore.inviteToSeat}. */
export interface InviteToSeatOptions {
  /** The user to invite. */
  readonly inviteeID: string;
  /** Seat index; `-1` (the default) offers any seat. */
  readonly seatIndex?: number;
  /** How long the invitee has to answer, in seconds. */
  readonly timeout: number;
  /** Free-form data shown to the invitee. */
  readonly extraInfo?: string | null;
}

/**
 * One live room joined by one {@link Client}: the reference `CoGuestStore`.
 *
 * Every call sends one command and resolves once the server applied it, or rejects with a
 * `CoGuestError` (which changed nothing when it carries a server code). Outcomes that come
 * later (an application answered or timed out, ...) arrive as listener callbacks; the lists of
 * {@link CoGuestStore.coGuestState} are updated before the callbacks of the same room version
 * run.
 *
 * One store per room per client: `create` returns the same membership for a room already
 * joined. {@link CoGuestStore.leaveRoom} leaves the room (the Rust SDK does it when the last
 * handle is dropped).
 */
export class CoGuestStore {
  /** The observable lists (the reference `coGuestState`): `connected`, `invitees`, `applicants`, `candidates`. */
  readonly coGuestState: CoGuestState;
  /**
   * This user's place in the room's application queue while it has a pending application
   * (`null` otherwise): `position` 1 is first in line, `length` the number of pending
   * applications. It changes as others apply, cancel, time out or are answered, in the
   * server's order; it is set before the callbacks of the same room version run, and comes
   * back right after a reconnect (the server's snapshot or replay carries it).
   *
   * Mirrors the Rust SDK's `CoGuestStore::queue_position`.
   */
  readonly queuePosition: ReadonlyObservable<QueuePosition | null>;
  #room: RoomHandle;

  private constructor(room: RoomHandle) {
    this.#room = room;
    const s = room.shared;
    this.coGuestState = Object.freeze({
      connected: s.connected,
      invitees: s.invitees,
      applicants: s.applicants,
      candidates: s.candidates,
    });
    this.queuePosition = s.queuePosition;
  }

  /**
   * Joins `liveID` and resolves with its store once the room's state has arrived (the
   * reference `CoGuestStore.create`); an unknown room is created with the server's defaults
   * when this token may create it (by default an owner's); otherwise `ROOM_ID_NOT_EXIST` (-2100).
   *
   * If this client is already a member of the room, the store shares that membership (same
   * lists and listeners) and nothing is sent. A store whose room was closed is not reused: a
   * new join is made. Rejects with the server's code when the join is refused (`-3020`
   * `ROOM_FULL`, `-3021` `OWNER_ALREADY_PRESENT`, `-3012` `WRONG_ROOM`, ...).
   */
  static async create(client: Client, liveID: string): Promise<CoGuestStore> {
    return new CoGuestStore(await client.room(liveID));
  }

  /** The live room id. */
  get liveID(): string {
    return this.#room.shared.room;
  }

  /** The client this store belongs to. */
  get client(): Client {
    return this.#room.client;
  }

  /**
   * Whether this store is finished: the server closed the room (admin API), a re-join after a
   * reconnect was refused, or {@link CoGuestStore.leaveRoom} was called. Its lists are then
   * empty, no callback runs any more and every call fails with `ROOM_CLOSED` (-4106);
   * `CoGuestStore.create` joins afresh.
   */
  get isClosed(): boolean {
    return this.#room.shared.closed;
  }

  /**
   * Why the server closed the room, once it has: `"closed"` by the admin API, `"lost"` when a
   * cluster's Redis lost the room's data (`CoGuestStore.create` then starts an empty room).
   * `null` while the room is open, or when the store ended for another reason (left, a
   * re-join refused).
   */
  get closedReason(): ClosedReason | null {
    return this.#room.shared.serverReason;
  }

  /** Adds host-side callbacks (the reference `addHostListener`). Adding the same object twice calls it twice. */
  addHostListener(listener: Partial<HostListener>): void {
    this.#room.shared.hostListeners.push(listener);
  }

  /** Removes host-side callbacks (one registration per call). No callback of it runs after this returns. */
  removeHostListener(listener: Partial<HostListener>): void {
    removeOnce(this.#room.shared.hostListeners, listener);
  }

  /** Adds guest-side callbacks (the reference `addGuestListener`). */
  addGuestListener(listener: Partial<GuestListener>): void {
    this.#room.shared.guestListeners.push(listener);
  }

  /** Removes guest-side callbacks (the reference `removeGuestListener`). */
  removeGuestListener(listener: Partial<GuestListener>): void {
    removeOnce(this.#room.shared.guestListeners, listener);
  }

  /** The seat layer of this room (the reference `LiveSeatStore`), sharing this membership. */
  liveSeatStore(): LiveSeatStore {
    return new LiveSeatStore(this.#room);
  }

  #call(command: Parameters<RoomHandle["call"]>[0]): Promise<void> {
    return this.#room.call(command).then(() => undefined);
  }

  /**
   * Audience: applies for a seat (the reference `applyForSeat`). Resolves once the server has
   * registered the application and told the hosts; the outcome arrives later as
   * `GuestListener.onGuestApplicationResponded` or `onGuestApplicationNoResponse`.
   */
  applyForSeat(options: ApplyForSeatOptions): Promise<void> {
    const { seatIndex = -1, timeout, extraInfo } = options;
    return this.#call({
      cmd: "apply_for_seat",
      seat_index: seatIndex,
      timeout,
      ...(extraInfo !== undefined && extraInfo !== null ? { extra_info: extraInfo } : {}),
    });
  }

  /**
   * Audience: withdraws this user's pending application (the reference `cancelApplication`);
   * hosts get `onGuestApplicationCancelled`. Fails with `-2311` (`REQUEST_ID_INVALID`) if it
   * was already answered or timed out.
   */
  cancelApplication(): Promise<void> {
    return this.#call({ cmd: "cancel_application" });
  }

  /**
   * Host: accepts `userID`'s application, seating it (the reference `acceptApplication`). The
   * applicant gets `onGuestApplicationResponded(true, ...)` and the other hosts
   * `onGuestApplicationProcessedByOtherHost`. If another host answered first, fails with
   * `-2311` (`REQUEST_ID_INVALID`). If the seat is taken, fails with `-2342`/`-2343`/`-2346`
   * and the application stays pending.
   */
  acceptApplication(userID: string): Promise<void> {
    return this.#call({ cmd: "accept_application", user_id: userID });
  }

  /**
   * Host: accepts the first application in line (the oldest pending one, in the server's
   * order), exactly as `acceptApplication` of its applicant would. Rejects with `-3029`
   * (`QUEUE_EMPTY`) when no application is pending, and with the seat codes of
   * `acceptApplication` (the application then stays first in line).
   */
  acceptNextApplication(): Promise<void> {
    return this.#call({ cmd: "accept_next_application" });
  }

  /** Host: rejects `userID`'s application (the reference `rejectApplication`); same rules as `acceptApplication`. */
  rejectApplication(userID: string): Promise<void> {
    return this.#call({ cmd: "reject_application", user_id: userID });
  }

  /**
   * Host: invites a user to a seat (the reference `inviteToSeat`). Resolves once the server
   * has registered the invitation and told the invitee; the outcome arrives later as
   * `HostListener.onHostInvitationResponded` or `onHostInvitationNoResponse` (at once, with
   * `NoResponseReason.alreadySeated`, if the invitee is already seated).
   */
  inviteToSeat(options: InviteToSeatOptions): Promise<void> {
    const { inviteeID, seatIndex = -1, timeout, extraInfo } = options;
    return this.#call({
      cmd: "invite_to_seat",
      invitee_id: inviteeID,
      seat_index: seatIndex,
      timeout,
      ...(extraInfo !== undefined && extraInfo !== null ? { extra_info: extraInfo } : {}),
    });
  }

  /** Host: withdraws this host's pending invitation of `inviteeID` (the reference `cancelInvitation`); the invitee gets `onHostInvitationCancelled`. */
  cancelInvitation(inviteeID: string): Promise<void> {
    return this.#call({ cmd: "cancel_invitation", invitee_id: inviteeID });
  }

  /** Invitee: accepts `inviterID`'s invitation and takes the offered seat (the reference `acceptInvitation`); the host gets `onHostInvitationResponded(true, ...)`. */
  acceptInvitation(inviterID: string): Promise<void> {
    return this.#call({ cmd: "accept_invitation", inviter_id: inviterID });
  }

  /** Invitee: declines `inviterID`'s invitation (the reference `rejectInvitation`). */
  rejectInvitation(inviterID: string): Promise<void> {
    return this.#call({ cmd: "reject_invitation", inviter_id: inviterID });
  }

  /**
   * Leaves this user's seat and stays in the room (the reference `disconnect`, "end the
   * co-guest session"). Fails with `-2345` (`USER_NOT_IN_SEAT`) when not seated.
   */
  disconnect(): Promise<void> {
    return this.#call({ cmd: "disconnect" });
  }

  /** Host: removes `userID` from its seat (seat layer); the user gets `onKickedOffSeat`. */
  kickOffSeat(userID: string): Promise<void> {
    return this.#call({ cmd: "kick_off_seat", user_id: userID });
  }

  /** Host: locks a seat (seat layer); its occupant, if any, is removed and told. */
  lockSeat(seatIndex: number): Promise<void> {
    return this.#call({ cmd: "lock_seat", seat_index: seatIndex });
  }

  /** Host: unlocks a seat (seat layer). */
  unlockSeat(seatIndex: number): Promise<void> {
    return this.#call({ cmd: "unlock_seat", seat_index: seatIndex });
  }

  /**
   * Leaves the room: the store ends at once (lists emptied, no more callbacks, calls fail with
   * `ROOM_CLOSED`), and a `leave` goes to the server, after a reconnect if need be (before the
   * join of a store of the same room created meanwhile). The user's requests close and its
   * seat is freed. Resolves once the server answered.
   */
  leaveRoom(): Promise<void> {
    return this.#room.leave();
  }
}
