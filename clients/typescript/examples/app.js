// The co-guest demo: one page for hosts and audience members. Plain JavaScript, no build step:
// it imports the SDK's ES module build straight from the package's dist/ folder.
import { Client, CoGuestStore, NoResponseReason } from "../dist/index.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
for (const key of ["server", "room", "token"]) if (params.has(key)) $(key).value = params.get(key);

let client = null;
let store = null;
/** The host whose invitation is on screen. */
let inviter = null;

function log(text) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $("log").prepend(li);
}

/** Runs a store call and logs its failure (a CoGuestError: code and message). */
async function act(what, call) {
  try {
    await call();
    log(`${what}: ok`);
  } catch (e) {
    log(`${what} failed: ${e.message} (code ${e.code})`);
  }
}

/** One list item: a label and buttons ([text, testid, onClick]). */
function item(label, buttons = []) {
  const li = document.createElement("li");
  li.append(label);
  for (const [text, testid, onClick] of buttons) {
    const b = document.createElement("button");
    b.textContent = text;
    b.dataset.testid = testid;
    b.addEventListener("click", onClick);
    li.append(b);
  }
  return li;
}

function render() {
  const state = store.coGuestState;
  const host = client.role !== "audience";
  $("connected").replaceChildren(
    ...state.connected.value.map((u) =>
      item(`seat ${u.seatIndex}: ${u.userName || u.userID} (${u.role})`, host && u.userID !== client.userID
        ? [["Kick", `kick-${u.userID}`, () => act(`kick ${u.userID}`, () => store.kickOffSeat(u.userID))]]
        : []),
    ),
  );
  $("applicants").replaceChildren(
    ...state.applicants.value.map((u) =>
      item(u.userName || u.userID, [
        ["Accept", `accept-${u.userID}`, () => act(`accept ${u.userID}`, () => store.acceptApplication(u.userID))],
        ["Reject", `reject-${u.userID}`, () => act(`reject ${u.userID}`, () => store.rejectApplication(u.userID))],
      ]),
    ),
  );
  $("candidates").replaceChildren(
    ...state.candidates.value.map((u) =>
      item(u.userName || u.userID, [
        ["Invite", `invite-${u.userID}`, () =>
          act(`invite ${u.userID}`, () => store.inviteToSeat({ inviteeID: u.userID, seatIndex: -1, timeout: 30 }))],
      ]),
    ),
  );
  $("invitees").replaceChildren(
    ...state.invitees.value.map((u) =>
      item(u.userName || u.userID, [
        ["Cancel", `cancel-invitation-${u.userID}`, () => act(`cancel invitation of ${u.userID}`, () => store.cancelInvitation(u.userID))],
      ]),
    ),
  );
  $("invitation").hidden = inviter === null;
}

const reasonText = (reason) => (reason === NoResponseReason.timeout ? "timed out" : "already seated");

const hostListener = {
  onGuestApplicationReceived: (guest, _seat, extraInfo) => log(`application from ${guest.userID}${extraInfo ? `: ${extraInfo}` : ""}`),
  onGuestApplicationCancelled: (guest) => log(`application of ${guest.userID} cancelled`),
  onGuestApplicationProcessedByOtherHost: (guest, host) => log(`application of ${guest.userID} answered by ${host.userID}`),
  onHostInvitationResponded: (isAccept, guest) => log(`${guest.userID} ${isAccept ? "accepted" : "rejected"} the invitation`),
  onHostInvitationNoResponse: (guest, reason) => log(`invitation of ${guest.userID}: ${reasonText(reason)}`),
};

const guestListener = {
  onHostInvitationReceived: (host) => {
    inviter = host.userID;
    $("invitation-text").textContent = `${host.userName || host.userID} invites you to a seat`;
    log(`invitation from ${host.userID}`);
    render();
  },
  onHostInvitationCancelled: (host) => {
    inviter = null;
    log(`invitation from ${host.userID} cancelled`);
    render();
  },
  onGuestApplicationResponded: (isAccept, host) => log(`application ${isAccept ? "accepted" : "rejected"} by ${host.userID}`),
  onGuestApplicationNoResponse: (reason) => log(`application: ${reasonText(reason)}`),
  onKickedOffSeat: (seatIndex, host) => log(`kicked off seat ${seatIndex} by ${host.userID}`),
};

async function connect() {
  client?.close();
  $("status").textContent = "connecting";
  try {
    client = await Client.connect($("server").value, $("token").value);
    client.status.subscribe((s) => ($("status").textContent = s));
    store = await CoGuestStore.create(client, $("room").value);
  } catch (e) {
    $("status").textContent = `failed: ${e.message} (code ${e.code})`;
    return;
  }
  $("status").textContent = client.status.value;
  $("me").textContent = `as ${client.userID} (${client.role}) in ${store.liveID}`;
  const host = client.role !== "audience";
  $("host-panel").hidden = !host;
  $("guest-actions").hidden = host;
  for (const list of Object.values(store.coGuestState)) list.subscribe(render);
  store.addHostListener(hostListener);
  store.addGuestListener(guestListener);
  render();
}

$("connect").addEventListener("submit", (e) => {
  e.preventDefault();
  connect();
});
$("apply").addEventListener("click", () => act("apply", () => store.applyForSeat({ seatIndex: -1, timeout: 30, extraInfo: "hi" })));
$("cancel").addEventListener("click", () => act("cancel application", () => store.cancelApplication()));
$("leave-seat").addEventListener("click", () => act("leave seat", () => store.disconnect()));
$("accept-invitation").addEventListener("click", () => {
  const from = inviter;
  inviter = null;
  render();
  act(`accept invitation of ${from}`, () => store.acceptInvitation(from));
});
$("reject-invitation").addEventListener("click", () => {
  const from = inviter;
  inviter = null;
  render();
  act(`reject invitation of ${from}`, () => store.rejectInvitation(from));
});

if ($("token").value) connect();
