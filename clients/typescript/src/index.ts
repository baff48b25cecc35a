/**
 * `coguest-client`: the TypeScript SDK of coguest, with the reference `CoGuestStore` API, for
 * browsers (native `WebSocket`) and Node 20 and later (the `ws` package when there is no global
 * `WebSocket`).
 *
 * A {@link Client} is one authenticated WebSocket connection to a coguest server. A
 * {@link CoGuestStore} is one live room joined through it: it mirrors the reference
 * `CoGuestStore` method for method, exposes the reference `CoGuestState` lists as observables
 * and calls {@link HostListener} / {@link GuestListener} callbacks when things happen. A
 * {@link LiveSeatStore} is the room's seat layer. A {@link RoomObserver} (and a
 * {@link RoomsObserver} for the rooms list) is a service admin's live view of a room without
 * joining it, as an operator's console uses.
 *
 * @example
 * ```ts
 * import { Client, CoGuestStore } from "coguest-client";
 *
 * const client = await Client.connect("ws://127.0.0.1:7700", token);
 * const store = await CoGuestStore.create(client, "live_room_123");
 * store.coGuestState.applicants.subscribe((list) => console.log(`Pending applications: ${list.length}`));
 * store.addHostListener({
 *   onGuestApplicationReceived: (guestUser) => console.log(`Received application from ${guestUser.userName}`),
 * });
 * await store.acceptApplication("user_456");
 * ```
 * @packageDocumentation
 */

export { Client } from "./client.js";
export type { ClientOptions } from "./client.js";
export type { ConnectionStatus } from "./actor.js";
export { CoGuestError, ErrorCode } from "./error.js";
export type { ErrorCodeName } from "./error.js";
export type { ReadonlyObservable, Unsubscribe } from "./observable.js";
export { CoGuestStore } from "./store.js";
export type { ApplyForSeatOptions, InviteToSeatOptions } from "./store.js";
export { LiveSeatStore } from "./seat.js";
export { RoomObserver, RoomsObserver } from "./observer.js";
export type { RoomSettings } from "./seat.js";
export type { GuestListener, HostListener, SeatListener } from "./listener.js";
export { NoResponseReason, deviceAllowed, isHost } from "./types.js";
export type {
  Application,
  ClosedReason,
  CoGuestState,
  Invitation,
  LogEntry,
  RoomSummary,
  Device,
  GuestEvent,
  HostEvent,
  LiveUserInfo,
  MovePolicy,
  QueuePosition,
  Role,
  SeatEvent,
  SeatInfo,
  SeatMode,
  SeatUserInfo,
} from "./types.js";
/** The approval hook's request and answer, for an app's backend (see docs/APPROVAL.md). */
export type { ApprovalKind, ApprovalRequest, ApprovalResponse } from "./wire.js";
