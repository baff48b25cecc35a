/**
 * {@link RoomObserver} and {@link RoomsObserver}: a service admin watching rooms without being
 * in them (the protocol's `observe` and `observe_rooms`), as an operator's console does.
 *
 * Not in the reference API (an addition of coguest).
 * @module
 */

import type { Client, RoomHandle } from "./client.js";
import type { HostListener } from "./listener.js";
import { Observable, type ReadonlyObservable } from "./observable.js";
import { removeOnce } from "./shared.js";
import { roomSummary } from "./state.js";
import type {
  Application,
  Invitation,
  LiveUserInfo,
  LogEntry,
  RoomSummary,
  SeatInfo,
  SeatMode,
  SeatUserInfo,
} from "./types.js";

/**
 * One room watched by a service admin without joining it: the client's token must have
 * `adm: true` (`coguest token --admin`), or the client was connected with the server's API
 * key in place of a token. An admin token limited to a room may observe that room only.
 *
 * The observer sees what a host sees, live: every seat, every pending application and
 * invitation (with ids, seats and times), the candidates, host callbacks, and the room's
 * event log (each transition with who caused it). It is not a member: it holds no seat, is
 * not a candidate and is not counted. Like a store it survives reconnects (it resumes from
 * the last version seen) and ends when the room is closed.
 *
 * @example
 * ```ts
 * const client = await Client.connect("ws://127.0.0.1:7700", adminToken);
 * const observer = await RoomObserver.create(client, "live_room_123");
 * observer.applications.subscribe((list) => render(list));
 * observer.log.subscribe(([newest]) => console.log(newest?.type, "by", newest?.actor));
 * ```
 */
export class RoomObserver {
  /** Every seat, empty ones included, with its occupant, lock and device flags. */
  readonly seatList: ReadonlyObservable<readonly SeatInfo[]>;
  /** The seated users, in seat order. */
  readonly connected: ReadonlyObservable<readonly SeatUserInfo[]>;
  /** The room's seat mode. */
  readonly seatMode: ReadonlyObservable<SeatMode>;
  /** Pending applications in arrival order, with their ids, seats, deadlines and times made. */
  readonly applications: ReadonlyObservable<readonly Application[]>;
  /** Open invitations (one per inviter and invitee), with their inviters and deadlines. */
  readonly invitations: ReadonlyObservable<readonly Invitation[]>;
  /** Members who could be invited (present, not seated, nothing pending), capped by the server. */
  readonly candidates: ReadonlyObservable<readonly LiveUserInfo[]>;
  /** The room version the lists above show. */
  readonly version: ReadonlyObservable<number>;
  /**
   * The event log: the room's transitions, newest first, at most 200. It starts with what the
   * server kept (the last 200 once the room is observed on that server) and grows live.
   */
  readonly log: ReadonlyObservable<readonly LogEntry[]>;
  /** Why the observer ended (the room was closed, or {@link RoomObserver.stop}), or `null`. */
  readonly ended: ReadonlyObservable<string | null>;
  #room: RoomHandle;

  private constructor(room: RoomHandle) {
    this.#room = room;
    const s = room.shared;
    this.seatList = s.seatList;
    this.connected = s.connected;
    this.seatMode = s.seatMode;
    this.applications = s.applications;
    this.invitations = s.invitations;
    this.candidates = s.candidates;
    this.version = s.version;
    this.log = s.log;
    this.ended = s.ended;
  }

  /**
   * Observes `roomID` and resolves once its state has arrived. Rejects with the server's code
   * when refused: `-2301` (`NEED_ADMIN_PERMISSION`) for a token without `adm`, `-3012`
   * (`WRONG_ROOM`) for an admin token limited to another room, `-2100`
   * (`ROOM_ID_NOT_EXIST`) for a room that does not exist, `-2310` when this client joined the
   * room (observe it from another client). A second call for a room observed already shares
   * the first observer's lists.
   */
  static async create(client: Client, roomID: string): Promise<RoomObserver> {
    return new RoomObserver(await client.room(roomID, true));
  }

  /** The room id. */
  get roomID(): string {
    return this.#room.shared.room;
  }

  /** Whether the observer ended (see {@link RoomObserver.ended}). */
  get isClosed(): boolean {
    return this.#room.shared.closed;
  }

  /** Adds host-side callbacks: the observer gets the events the hosts get. */
  addHostListener(listener: Partial<HostListener>): void {
    this.#room.shared.hostListeners.push(listener);
  }

  /** Removes host-side callbacks (one registration per call). */
  removeHostListener(listener: Partial<HostListener>): void {
    removeOnce(this.#room.shared.hostListeners, listener);
  }

  /** Stops observing (`unobserve`): the lists empty and nothing more arrives. */
  stop(): Promise<void> {
    return this.#room.leave();
  }
}

/**
 * Every room at a glance, live: a service admin not limited to a room watches the server's
 * rooms list (the protocol's `observe_rooms`). The server pushes the summaries of the rooms
 * that change (at most ten messages a second), so nothing polls.
 *
 * @example
 * ```ts
 * const rooms = await RoomsObserver.create(client);
 * rooms.rooms.subscribe((list) => render(list)); // most recently changed first
 * ```
 */
export class RoomsObserver {
  /** Every room, the most recently changed first (rooms whose last change is unknown last, by id). */
  readonly rooms: ReadonlyObservable<readonly RoomSummary[]>;
  #rooms = new Observable<readonly RoomSummary[]>(Object.freeze([]));
  #byID = new Map<string, RoomSummary>();
  #client: Client;

  private constructor(client: Client) {
    this.#client = client;
    this.rooms = this.#rooms;
  }

  /**
   * Watches the rooms list and resolves once the full list arrived. Rejects with `-2301` for a
   * token without `adm` and `-3012` for an admin token limited to a room. One per client.
   */
  static async create(client: Client): Promise<RoomsObserver> {
    const o = new RoomsObserver(client);
    await client.watchRooms((msg) => o.#apply(msg.full, msg.rooms.map(roomSummary), msg.closed ?? []));
    return o;
  }

  /** Stops watching. */
  stop(): Promise<void> {
    return this.#client.unwatchRooms();
  }

  #apply(full: boolean, rooms: readonly RoomSummary[], closed: readonly string[]): void {
    if (full) {
      // The full list replaces what was there, except newer summaries that came meanwhile.
      const before = this.#byID;
      this.#byID = new Map();
      for (const r of rooms) {
        const seen = before.get(r.roomID);
        this.#byID.set(r.roomID, seen && seen.version > r.version ? seen : r);
      }
    } else {
      for (const r of rooms) {
        const seen = this.#byID.get(r.roomID);
        if (!seen || seen.version <= r.version) this.#byID.set(r.roomID, r);
      }
    }
    for (const id of closed) this.#byID.delete(id);
    const list = [...this.#byID.values()].sort(
      (a, b) =>
        (b.lastChangeMs ?? -1) - (a.lastChangeMs ?? -1) || (a.roomID < b.roomID ? -1 : a.roomID > b.roomID ? 1 : 0),
    );
    if (this.#rooms.replace(Object.freeze(list))) this.#rooms.notify();
  }
}
