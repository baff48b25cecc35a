// A consumer of the built package: `test/declarations.test.ts` typechecks it against dist/index.d.ts
// (the public surface as the README shows it), with and without the DOM library.
import { Client, CoGuestStore, LiveSeatStore, CoGuestError, NoResponseReason, type HostListener, type SeatUserInfo } from "../dist/index.js";
export async function main(token: string): Promise<void> {
  const client = await Client.connect("ws://127.0.0.1:7700", token);
  const s: "connecting" | "connected" | "reconnecting" | "closed" = client.status.value;
  const store = await CoGuestStore.create(client, "live_room_123");
  const list: readonly SeatUserInfo[] = store.coGuestState.connected.value;
  const off = store.coGuestState.connected.subscribe((l) => console.log(l.length, s, list.length));
  const l: Partial<HostListener> = { onHostInvitationNoResponse: (u, r) => console.log(u.userID, r === NoResponseReason.timeout) };
  store.addHostListener(l);
  await store.applyForSeat({ seatIndex: -1, timeout: 30, extraInfo: "hi" });
  await store.inviteToSeat({ inviteeID: "x", seatIndex: 2, timeout: 30, extraInfo: "y" });
  const seats: LiveSeatStore = store.liveSeatStore();
  await seats.moveToSeat("u", 3, "swap");
  await LiveSeatStore.create(client, "r");
  try { await store.disconnect(); } catch (e) { if (e instanceof CoGuestError) console.log(e.code, e.message); }
  off(); client.close();
}
