/**
 * {@link LiveSeatStore}: the seat layer of one joined room (the reference `LiveSeatStore`).
 *
 * Mirrors `crates/coguest-client/src/seat.rs`.
 * @module
 */

import type { Client, RoomHandle } from "./client.js";
import type { SeatListener } from "./listener.js";
import type { ReadonlyObservable } from "./observable.js";
import { removeOnce } from "./shared.js";
import { movePolicyToWire, seatModeToWire } from "./state.js";
import type { Device, MovePolicy, SeatInfo, SeatMode } from "./types.js";

/** Settings for {@link LiveSeatStore.changeSettings}: each one given is changed, the others stay. */
export interface RoomSettings {
  /** The new seat mode. */
  readonly seatMode?: SeatMode;
  /** The new number of seats (1 to 64). Shrinking below an occupied seat fails with `-3026`. */
  readonly maxSeatCount?: number;
}

/**
 * The seat layer of one joined room: every seat as an observable list, the seat commands, and
 * seat callbacks.
 *
 * It shares its room membership with the room's `CoGuestStore` (`store.liveSeatStore()`, or
 * `CoGuestStore.create(client, liveID)` from a `LiveSeatStore`'s room, which returns the same
 * membership without joining again). Calls resolve once the server applied them and reject
 * with a `CoGuestError` otherwise, like the `CoGuestStore`'s.
 */
export class LiveSeatStore {
  #room: RoomHandle;

  /** @internal Use {@link LiveSeatStore.create} or `CoGuestStore.liveSeatStore()`. */
  constructor(room: RoomHandle) {
    this.#room = room;
  }

  /**
   * Joins `liveID` (or reuses this client's membership of it) and returns its seat layer.
   * Rejects like `CoGuestStore.create`.
   */
  static async create(client: Client, liveID: string): Promise<LiveSeatStore> {
    return new LiveSeatStore(await client.room(liveID));
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
   * Every seat in index order, empty ones included, with lock and device flags. Updated before
   * the seat callbacks of the same room version run.
   */
  get seatList(): ReadonlyObservable<readonly SeatInfo[]> {
    return this.#room.shared.seatList;
  }

  /** The room's seat mode (changes when a host changes the settings). */
  get seatMode(): ReadonlyObservable<SeatMode> {
    return this.#room.shared.seatMode;
  }

  /** Whether the room's membership ended (see `CoGuestStore.isClosed`). */
  get isClosed(): boolean {
    return this.#room.shared.closed;
  }

  /** Adds seat callbacks (a `Partial<SeatListener>`). Adding the same object twice calls it twice. */
  addSeatListener(listener: Partial<SeatListener>): void {
    this.#room.shared.seatListeners.push(listener);
  }

  /** Removes seat callbacks (one registration per call). No callback of it runs after this returns. */
  removeSeatListener(listener: Partial<SeatListener>): void {
    removeOnce(this.#room.shared.seatListeners, listener);
  }

  #call(command: Parameters<RoomHandle["call"]>[0]): Promise<void> {
    return this.#room.call(command).then(() => undefined);
  }

  /**
   * Takes a free seat directly (`takeSeat`); `-1` (the default) takes the first free one.
   * Only in free-to-take rooms: otherwise `-3024` (`SEAT_MODE_APPLY_TO_TAKE`).
   */
  takeSeat(seatIndex = -1): Promise<void> {
    return this.#call({ cmd: "take_seat", seat_index: seatIndex });
  }

  /** Leaves this user's seat (`leaveSeat`); `-2345` (`USER_NOT_IN_SEAT`) when not seated. */
  leaveSeat(): Promise<void> {
    return this.#call({ cmd: "leave_seat" });
  }

  /** Host: removes `userID` from its seat (`kickUserOffSeat`); the user gets `onKickedOffSeat`. */
  kickUserOffSeat(userID: string): Promise<void> {
    return this.#call({ cmd: "kick_off_seat", user_id: userID });
  }

  /** Host: locks a seat; its occupant, if any, is removed and told. */
  lockSeat(seatIndex: number): Promise<void> {
    return this.#call({ cmd: "lock_seat", seat_index: seatIndex });
  }

  /** Host: unlocks a seat. */
  unlockSeat(seatIndex: number): Promise<void> {
    return this.#call({ cmd: "unlock_seat", seat_index: seatIndex });
  }

  /**
   * Host: moves seated `userID` to `seatIndex` (`moveUserToSeat`), atomically; `policy`
   * (default `"abortWhenOccupied"`) decides what happens when the seat is occupied:
   * `"abortWhenOccupied"` fails with `-2342`, `"forceReplace"` removes the occupant (it gets
   * `onKickedOffSeat`), `"swap"` exchanges the two. A seated user may move itself to a free
   * seat with `"abortWhenOccupied"`.
   */
  moveToSeat(userID: string, seatIndex: number, policy: MovePolicy = "abortWhenOccupied"): Promise<void> {
    return this.#call({ cmd: "move_to_seat", user_id: userID, seat_index: seatIndex, policy: movePolicyToWire(policy) });
  }

  /** The reference name of {@link LiveSeatStore.moveToSeat}. */
  moveUserToSeat(userID: string, seatIndex: number, policy: MovePolicy = "abortWhenOccupied"): Promise<void> {
    return this.moveToSeat(userID, seatIndex, policy);
  }

  /**
   * Opens or closes this seated user's microphone or camera. Opening fails with `-3025`
   * (`DEVICE_DISALLOWED`) when a host disallowed it.
   */
  setDevice(device: Device, on: boolean): Promise<void> {
    return this.#call({ cmd: "set_device", device, on });
  }

  /** Opens this seated user's microphone (`openLocalMicrophone`). */
  openLocalMicrophone(): Promise<void> {
    return this.setDevice("microphone", true);
  }

  /** Closes this seated user's microphone. */
  closeLocalMicrophone(): Promise<void> {
    return this.setDevice("microphone", false);
  }

  /** Opens this seated user's camera (`openLocalCamera`). */
  openLocalCamera(): Promise<void> {
    return this.setDevice("camera", true);
  }

  /** Closes this seated user's camera. */
  closeLocalCamera(): Promise<void> {
    return this.setDevice("camera", false);
  }

  /** Host: allows or disallows `device` for `userID`, wherever it sits (`disableUserMediaDevice`). */
  setUserDevicePermission(userID: string, device: Device, allowed: boolean): Promise<void> {
    return this.#call({ cmd: "set_user_device_permission", user_id: userID, device, allowed });
  }

  /** Host: allows or disallows `device` on a seat, for whoever sits there. */
  setSeatDevicePermission(seatIndex: number, device: Device, allowed: boolean): Promise<void> {
    return this.#call({ cmd: "set_seat_device_permission", seat_index: seatIndex, device, allowed });
  }

  /** Host: changes the seat mode and/or the number of seats. */
  changeSettings(settings: RoomSettings): Promise<void> {
    return this.#call({
      cmd: "change_settings",
      ...(settings.seatMode !== undefined ? { seat_mode: seatModeToWire(settings.seatMode) } : {}),
      ...(settings.maxSeatCount !== undefined ? { max_seat_count: settings.maxSeatCount } : {}),
    });
  }

  /** Owner: grants (`true`) or revokes admin to `userID`, effective at once (`setAdministrator` / `revokeAdministrator`). */
  setAdmin(userID: string, admin: boolean): Promise<void> {
    return this.#call({ cmd: "set_admin", user_id: userID, admin });
  }

  /** Leaves the room: every store of it on this client ends (see `CoGuestStore.leaveRoom`). */
  leaveRoom(): Promise<void> {
    return this.#room.leave();
  }
}
