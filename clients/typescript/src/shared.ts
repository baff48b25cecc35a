/**
 * What the connection actor and a room's stores share about one room: its observable lists,
 * its listeners, and the queue that calls them in order.
 *
 * Mirrors `StoreShared` and the dispatch loop of `crates/coguest-client/src/store.rs` (a module
 * of its own here, so that the actor and the stores import it without importing each other).
 * @module
 */

import type { GuestListener, HostListener, SeatListener } from "./listener.js";
import { dispatchGuest, dispatchHost, dispatchSeat } from "./listener.js";
import { Observable, publish, reportCallbackError } from "./observable.js";
import type { ObserverViews, StoreEvent, Views } from "./state.js";
import { EMPTY_VIEWS } from "./state.js";
import type {
  Application,
  ClosedReason,
  Invitation,
  LiveUserInfo,
  LogEntry,
  QueuePosition,
  SeatInfo,
  SeatMode,
  SeatUserInfo,
} from "./types.js";

/** @internal Transitions an observer's event log keeps (newest first). */
export const LOG_LIMIT = 200;

/** @internal One room's lists, listeners and callback queue. */
export class StoreShared {
  readonly room: string;
  readonly connected = new Observable<readonly SeatUserInfo[]>(EMPTY_VIEWS.connected);
  readonly invitees = new Observable<readonly LiveUserInfo[]>(EMPTY_VIEWS.invitees);
  readonly applicants = new Observable<readonly LiveUserInfo[]>(EMPTY_VIEWS.applicants);
  readonly candidates = new Observable<readonly LiveUserInfo[]>(EMPTY_VIEWS.candidates);
  readonly seatList = new Observable<readonly SeatInfo[]>(EMPTY_VIEWS.seats);
  readonly seatMode = new Observable<SeatMode>(EMPTY_VIEWS.seatMode);
  readonly queuePosition = new Observable<QueuePosition | null>(EMPTY_VIEWS.queuePosition);
  /** Observers only: the room version of the published lists. */
  readonly version = new Observable<number>(0);
  /** Observers only: pending applications with their ids and times. */
  readonly applications = new Observable<readonly Application[]>(Object.freeze([]));
  /** Observers only: pending invitations with their inviters and times. */
  readonly invitations = new Observable<readonly Invitation[]>(Object.freeze([]));
  /** Observers only: the event log, newest first. */
  readonly log = new Observable<readonly LogEntry[]>(Object.freeze([]));
  /** Why the store ended, once it has (observable). */
  readonly ended = new Observable<string | null>(null);
  readonly hostListeners: Array<Partial<HostListener>> = [];
  readonly guestListeners: Array<Partial<GuestListener>> = [];
  readonly seatListeners: Array<Partial<SeatListener>> = [];
  /** Why the store ended (room closed, left, re-join refused), once it has. */
  closedReason: string | null = null;
  /** Why the server closed the room, when it did (`room_closed`'s `reason`). */
  serverReason: ClosedReason | null = null;
  #queue: StoreEvent[] = [];
  #draining = false;

  constructor(room: string) {
    this.room = room;
  }

  /** Whether the store ended. */
  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** Publishes new lists: every list is set, then the subscribers of those that changed run. */
  setViews(v: Views, o: ObserverViews | null = null): void {
    const observed: Array<readonly [Observable<any>, unknown]> =
      o === null
        ? []
        : [
            [this.version, o.version],
            [this.applications, o.applications],
            [this.invitations, o.invitations],
          ];
    publish([
      ...observed,
      [this.connected, v.connected],
      [this.invitees, v.invitees],
      [this.applicants, v.applicants],
      [this.candidates, v.candidates],
      [this.seatList, v.seats],
      [this.seatMode, v.seatMode],
      [this.queuePosition, v.queuePosition],
    ]);
  }

  /**
   * Calls the listeners of `events`, in order, one at a time. Events that arrive while a
   * callback runs (re-entrantly) are queued after the current ones, never run inside it.
   */
  dispatch(events: readonly StoreEvent[]): void {
    if (events.length === 0) return;
    this.#queue.push(...events);
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let e = this.#queue.shift(); e !== undefined; e = this.#queue.shift()) this.#deliver(e);
    } finally {
      this.#draining = false;
    }
  }

  #deliver(e: StoreEvent): void {
    const call = <L>(listeners: L[], f: (l: L) => void): void => {
      for (const l of [...listeners]) {
        // Skip a listener removed by an earlier callback of this same event.
        if (!listeners.includes(l)) continue;
        try {
          f(l);
        } catch (err) {
          reportCallbackError(err);
        }
      }
    };
    switch (e.kind) {
      case "host":
        return call(this.hostListeners, (l) => dispatchHost(l, e.event));
      case "guest":
        return call(this.guestListeners, (l) => dispatchGuest(l, e.event));
      case "seat":
        return call(this.seatListeners, (l) => dispatchSeat(l, e.event));
    }
  }

  /**
   * Observers: adds one transition to the event log (newest first, at most
   * {@link LOG_LIMIT}), unless it was seen already (a resume or a fresh snapshot replays the
   * log; entries are ordered by version, then position).
   */
  pushLog(entry: LogEntry): void {
    const newest = this.log.value[0];
    if (newest && (entry.version < newest.version || (entry.version === newest.version && entry.n <= newest.n))) {
      return;
    }
    this.log.replace(Object.freeze([entry, ...this.log.value.slice(0, LOG_LIMIT - 1)]));
    this.log.notify();
  }

  /** The store ended: its lists empty, no more callbacks, calls fail from now on. */
  markClosed(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.#queue = [];
    this.setViews(EMPTY_VIEWS, { version: this.version.value, applications: [], invitations: [] });
    this.ended.replace(reason);
    this.ended.notify();
  }
}

/** @internal Removes the first occurrence of `item`; whether it was there. */
export function removeOnce<T>(list: T[], item: T): boolean {
  const i = list.indexOf(item);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}
