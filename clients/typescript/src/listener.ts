/**
 * Listener interfaces: the reference `HostListener` and `GuestListener`, and the seat layer's
 * `SeatListener`.
 *
 * A listener is a `Partial` of its interface: implement only the callbacks you need. The
 * callbacks of one store run one at a time, in the order the server produced the events,
 * after the lists of the same room version were updated. A callback may call the store, add
 * or remove listeners; one that throws is reported (`reportError`, or `console.error` in Node)
 * and does not stop later callbacks.
 *
 * Mirrors `crates/coguest-client/src/listener.rs` (and `SeatListener` of `seat.rs`).
 * @module
 */

import type { Device, GuestEvent, HostEvent, LiveUserInfo, NoResponseReason, Role, SeatEvent } from "./types.js";

/** Host-side callbacks (owner and admins). Register with `CoGuestStore.addHostListener`. */
export interface HostListener {
  /** An audience member applied for a seat (`seatIndex` `-1`: any seat). */
  onGuestApplicationReceived(guestUser: LiveUserInfo, seatIndex: number, extraInfo: string | null): void;
  /** An applicant cancelled its application (or left the room). */
  onGuestApplicationCancelled(guestUser: LiveUserInfo): void;
  /** Another host accepted or rejected this application first. */
  onGuestApplicationProcessedByOtherHost(guestUser: LiveUserInfo, hostUser: LiveUserInfo): void;
  /** The invitee accepted or rejected this host's invitation. */
  onHostInvitationResponded(isAccept: boolean, guestUser: LiveUserInfo): void;
  /** This host's invitation closed unanswered: it timed out, or the invitee got a seat by another path. */
  onHostInvitationNoResponse(guestUser: LiveUserInfo, reason: NoResponseReason): void;
}

/** Guest-side callbacks (audience members, and hosts for their own requests). Register with `CoGuestStore.addGuestListener`. */
export interface GuestListener {
  /** A host invited this user to a seat (`seatIndex` `-1`: any seat). */
  onHostInvitationReceived(hostUser: LiveUserInfo, seatIndex: number, extraInfo: string | null): void;
  /** The host withdrew its invitation (or left the room). */
  onHostInvitationCancelled(hostUser: LiveUserInfo): void;
  /** A host accepted (the user is now seated) or rejected this user's application. */
  onGuestApplicationResponded(isAccept: boolean, hostUser: LiveUserInfo): void;
  /** This user's application closed unanswered: it timed out, or the user got a seat by another path. */
  onGuestApplicationNoResponse(reason: NoResponseReason): void;
  /** A host removed this user from its seat (or locked it). */
  onKickedOffSeat(seatIndex: number, hostUser: LiveUserInfo): void;
}

/** Seat-layer callbacks. Register with `LiveSeatStore.addSeatListener`. */
export interface SeatListener {
  /** This user was removed from its seat. */
  onKickedOffSeat(seatIndex: number, hostUser: LiveUserInfo): void;
  /** A host moved this user to another seat. */
  onMovedToSeat(fromSeatIndex: number, toSeatIndex: number, hostUser: LiveUserInfo): void;
  /** A host allowed or disallowed a device for this user (`seatIndex` `null`) or its seat. */
  onDevicePermissionChanged(device: Device, allowed: boolean, seatIndex: number | null, hostUser: LiveUserInfo): void;
  /** The owner granted or revoked admin to this user; its lists were replaced. */
  onRoleChanged(role: Role, byUser: LiveUserInfo): void;
}

/** @internal Calls the {@link HostListener} callback matching `e`, if the listener has it. */
export function dispatchHost(l: Partial<HostListener>, e: HostEvent): void {
  switch (e.type) {
    case "guestApplicationReceived":
      return l.onGuestApplicationReceived?.(e.guestUser, e.seatIndex, e.extraInfo);
    case "guestApplicationCancelled":
      return l.onGuestApplicationCancelled?.(e.guestUser);
    case "guestApplicationProcessedByOtherHost":
      return l.onGuestApplicationProcessedByOtherHost?.(e.guestUser, e.hostUser);
    case "hostInvitationResponded":
      return l.onHostInvitationResponded?.(e.isAccept, e.guestUser);
    case "hostInvitationNoResponse":
      return l.onHostInvitationNoResponse?.(e.guestUser, e.reason);
  }
}

/** @internal Calls the {@link GuestListener} callback matching `e`, if the listener has it. */
export function dispatchGuest(l: Partial<GuestListener>, e: GuestEvent): void {
  switch (e.type) {
    case "hostInvitationReceived":
      return l.onHostInvitationReceived?.(e.hostUser, e.seatIndex, e.extraInfo);
    case "hostInvitationCancelled":
      return l.onHostInvitationCancelled?.(e.hostUser);
    case "guestApplicationResponded":
      return l.onGuestApplicationResponded?.(e.isAccept, e.hostUser);
    case "guestApplicationNoResponse":
      return l.onGuestApplicationNoResponse?.(e.reason);
    case "kickedOffSeat":
      return l.onKickedOffSeat?.(e.seatIndex, e.hostUser);
  }
}

/** @internal Calls the {@link SeatListener} callback matching `e`, if the listener has it. */
export function dispatchSeat(l: Partial<SeatListener>, e: SeatEvent): void {
  switch (e.type) {
    case "kickedOffSeat":
      return l.onKickedOffSeat?.(e.seatIndex, e.hostUser);
    case "movedToSeat":
      return l.onMovedToSeat?.(e.fromSeatIndex, e.toSeatIndex, e.hostUser);
    case "devicePermissionChanged":
      return l.onDevicePermissionChanged?.(e.device, e.allowed, e.seatIndex, e.hostUser);
    case "roleChanged":
      return l.onRoleChanged?.(e.role, e.byUser);
  }
}
