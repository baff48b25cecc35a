// The room page: the seat grid, the applications (with how long each waited and how long it
// has left), the open invitations, the candidates and the event log, all live from a
// RoomObserver; and the operator's actions through the admin API.

import {
  RoomObserver,
  type Application,
  type Invitation,
  type LiveUserInfo,
  type LogEntry,
  type SeatInfo,
} from "../../typescript/src/index.js";
import { avatar, clock, duration, h, render, stamp } from "./dom.js";
import { AdminApi, refusal, type Session } from "./session.js";

/** What an admin API change answers. */
interface Changed {
  version?: number;
}

/** Shows room `roomID` in `root`; returns what stops it. */
export function roomPage(root: HTMLElement, session: Session, roomID: string): () => void {
  const api = session.api;
  const path = (rest = ""): string => AdminApi.room(roomID, rest);
  const meta = h("p", { class: "muted", "data-testid": "room-meta" }, "Loading…");
  const notice = h("p", { role: "status", class: "notice", "data-testid": "notice" });
  const error = h("p", { role: "alert", class: "error", "data-testid": "error" });
  const seats = h("ol", { class: "seats", "data-testid": "seats" });
  const applications = h("ol", { class: "people", "data-testid": "applications" });
  const invitations = h("ul", { class: "people", "data-testid": "invitations" });
  const candidates = h("ul", { class: "people", "data-testid": "candidates" });
  const log = h("ol", { class: "log", role: "log", "aria-label": "Event log, newest first", "data-testid": "log" });
  const counts = {
    applications: h("span", { class: "count" }),
    invitations: h("span", { class: "count" }),
    candidates: h("span", { class: "count" }),
  };

  let observer: RoomObserver | null = null;
  let closed = false;

  /** Runs one admin API call for `label`, showing the result or the server's refusal. */
  const act = async (label: string, call: () => Promise<unknown>, confirmText?: string): Promise<void> => {
    if (confirmText !== undefined && !window.confirm(confirmText)) return;
    error.textContent = "";
    notice.textContent = `${label}…`;
    try {
      const answer = (await call()) as Changed | null;
      const v = answer?.version;
      notice.textContent = `${label}: done${v === undefined ? "" : ` (room version ${v})`}.`;
    } catch (e) {
      notice.textContent = "";
      error.textContent = `${label} refused: ${refusal(e).describe()}`;
    }
  };
  const pick = (user: string, seatIndex: number): Promise<void> =>
    act(`Pick ${user} onto ${seatName(seatIndex)}`, () =>
      api.call("POST", path("/seats/pick"), { user_id: user, seat_index: seatIndex }),
    );
  const kick = (user: string, seatIndex: number): Promise<void> =>
    act(
      `Kick ${user}`,
      () => api.call("POST", path("/seats/kick"), { user_id: user }),
      `Kick ${user} off seat ${seatIndex}?`,
    );
  const lock = (seat: SeatInfo): Promise<void> =>
    seat.isLocked
      ? act(`Unlock seat ${seat.seatIndex}`, () => api.call("POST", path(`/seats/${seat.seatIndex}/unlock`)))
      : act(
          `Lock seat ${seat.seatIndex}`,
          () => api.call("POST", path(`/seats/${seat.seatIndex}/lock`)),
          seat.user ? `Lock seat ${seat.seatIndex}? ${seat.user.userName || seat.user.userID} is removed from it.` : undefined,
        );

  // --- Forms (built once: their inputs keep what the operator typed across updates) ------

  const moveUser = h("select", { id: "move-user", required: true });
  const moveSeat = h("select", { id: "move-seat", required: true });
  const movePolicy = h(
    "select",
    { id: "move-policy" },
    h("option", { value: "abort_when_occupied" }, "only to a free seat"),
    h("option", { value: "swap" }, "swap with its occupant"),
    h("option", { value: "force_replace" }, "replace its occupant"),
  );
  const moveForm = h(
    "form",
    { "aria-labelledby": "move-title", "data-testid": "move-form" },
    h("h3", { id: "move-title" }, "Move a seated user"),
    field("move-user", "User", moveUser),
    field("move-seat", "To seat", moveSeat),
    field("move-policy", "If occupied", movePolicy),
    h("button", { type: "submit" }, "Move"),
  );
  moveForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const user = moveUser.value;
    const seatIndex = Number(moveSeat.value);
    const policy = movePolicy.value;
    void act(
      `Move ${user} to seat ${seatIndex}`,
      () => api.call("POST", path("/seats/move"), { user_id: user, seat_index: seatIndex, policy }),
      policy === "force_replace" ? `Move ${user} to seat ${seatIndex}, removing whoever sits there?` : undefined,
    );
  });

  const pickUser = h("input", { id: "pick-user", required: true, list: "pick-users", autocomplete: "off", spellcheck: "false" });
  const pickUsers = h("datalist", { id: "pick-users" });
  const pickSeat = h("select", { id: "pick-seat" });
  const pickForm = h(
    "form",
    { "aria-labelledby": "pick-title", "data-testid": "pick-form" },
    h("h3", { id: "pick-title" }, "Pick a member onto a seat"),
    field("pick-user", "User id", pickUser),
    pickUsers,
    field("pick-seat", "Seat", pickSeat),
    h("button", { type: "submit" }, "Pick"),
  );
  pickForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void pick(pickUser.value.trim(), Number(pickSeat.value));
  });

  const seatCount = h("input", { id: "seat-count", type: "number", min: 1, max: 64, required: true });
  const seatMode = h(
    "select",
    { id: "seat-mode" },
    h("option", { value: "apply_to_take" }, "apply to take"),
    h("option", { value: "free_to_take" }, "free to take"),
  );
  const settingsForm = h(
    "form",
    { "aria-labelledby": "settings-title", "data-testid": "settings-form" },
    h("h3", { id: "settings-title" }, "Seats"),
    field("seat-count", "Number of seats", seatCount),
    field("seat-mode", "Seat mode", seatMode),
    h("button", { type: "submit" }, "Apply"),
  );
  settingsForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const count = Number(seatCount.value);
    const current = observer?.seatList.value.length ?? count;
    void act(
      "Change the seats",
      () => api.call("POST", path("/settings"), { max_seat_count: count, seat_mode: seatMode.value }),
      count < current ? `Remove seats ${count} to ${current - 1}?` : undefined,
    );
  });

  const adminUser = h("input", { id: "admin-user", required: true, autocomplete: "off", spellcheck: "false" });
  const grant = h("button", { type: "submit", value: "grant" }, "Grant admin");
  const revoke = h("button", { type: "submit", value: "revoke" }, "Revoke admin");
  const adminForm = h(
    "form",
    { "aria-labelledby": "admin-title", "data-testid": "admin-form" },
    h("h3", { id: "admin-title" }, "Admins"),
    field("admin-user", "User id", adminUser),
    h("div", { class: "buttons" }, grant, revoke),
  );
  adminForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const admin = (e as SubmitEvent).submitter !== revoke;
    const user = adminUser.value.trim();
    void act(
      `${admin ? "Grant" : "Revoke"} admin for ${user}`,
      () => api.call("POST", path("/admins"), { user_id: user, admin }),
      admin ? undefined : `Revoke ${user}'s admin role?`,
    );
  });

  const closeButton = h("button", { type: "button", class: "danger", "data-testid": "close-room" }, "Close the room");
  closeButton.addEventListener("click", () => {
    void act(
      `Close room ${roomID}`,
      () => api.call("DELETE", path()),
      `Close room ${roomID}? Every member is told, pending requests end and the room is deleted.`,
    );
  });

  render(
    root,
    h(
      "section",
      { "aria-labelledby": "room-title", class: "room" },
      h(
        "div",
        { class: "page-head" },
        h("p", {}, h("a", { href: "#/rooms" }, "← All rooms")),
        h("h1", { id: "room-title" }, "Room ", h("span", { class: "mono" }, roomID)),
        meta,
      ),
      notice,
      error,
      h(
        "div",
        { class: "room-grid" },
        h("section", { "aria-labelledby": "seats-title", class: "panel seats-panel" }, h("h2", { id: "seats-title" }, "Seats"), seats),
        h(
          "section",
          { "aria-labelledby": "apps-title", class: "panel" },
          h("h2", { id: "apps-title" }, "Applications ", counts.applications),
          applications,
          h("h2", { id: "invs-title" }, "Invitations ", counts.invitations),
          invitations,
          h("h2", { id: "cands-title" }, "Candidates ", counts.candidates),
          candidates,
        ),
        h(
          "section",
          { "aria-labelledby": "actions-title", class: "panel actions" },
          h("h2", { id: "actions-title" }, "Actions"),
          pickForm,
          moveForm,
          settingsForm,
          adminForm,
          h("div", { class: "danger-zone" }, h("h3", {}, "Close"), closeButton),
        ),
        h("section", { "aria-labelledby": "log-title", class: "panel log-panel" }, h("h2", { id: "log-title" }, "Event log"), log),
      ),
    ),
  );

  // --- Live views ------------------------------------------------------------------------

  const drawSeats = (list: readonly SeatInfo[]): void => {
    render(
      seats,
      list.map((seat) => {
        const u = seat.user;
        const i = seat.seatIndex;
        const flags: string[] = [];
        if (seat.isLocked) flags.push("locked");
        if (u) flags.push(u.microphoneOn ? "mic on" : "mic off", u.cameraOn ? "camera on" : "camera off");
        if (seat.seatMicrophoneDisallowed || seat.userMicrophoneDisallowed) flags.push("mic not allowed");
        if (seat.seatCameraDisallowed || seat.userCameraDisallowed) flags.push("camera not allowed");
        const label = `Seat ${i}: ${u ? `${u.userName || u.userID} (${u.role})` : "empty"}${flags.length ? `, ${flags.join(", ")}` : ""}`;
        return h(
          "li",
          { class: `seat${u ? " taken" : ""}${seat.isLocked ? " locked" : ""}`, "data-testid": `seat-${i}`, "aria-label": label },
          h("div", { class: "seat-head" }, h("span", { class: "seat-no" }, `Seat ${i}`), seat.isLocked ? h("span", { class: "badge lock" }, "locked") : null),
          u
            ? h(
                "div",
                { class: "occupant" },
                avatar(u.userName || u.userID, u.avatarURL),
                h("div", {}, h("div", { class: "name" }, u.userName || u.userID), h("div", { class: "muted mono small" }, `${u.userID} · ${u.role}`)),
              )
            : h("div", { class: "occupant empty muted" }, "empty"),
          h(
            "div",
            { class: "devices small" },
            u ? h("span", { class: u.microphoneOn ? "on" : "off" }, u.microphoneOn ? "mic on" : "mic off") : null,
            u ? h("span", { class: u.cameraOn ? "on" : "off" }, u.cameraOn ? "cam on" : "cam off") : null,
            seat.seatMicrophoneDisallowed || seat.userMicrophoneDisallowed ? h("span", { class: "off" }, "mic blocked") : null,
            seat.seatCameraDisallowed || seat.userCameraDisallowed ? h("span", { class: "off" }, "cam blocked") : null,
          ),
          h(
            "div",
            { class: "buttons" },
            u
              ? h(
                  "button",
                  {
                    type: "button",
                    "data-key": `kick-${u.userID}`,
                    "data-testid": `kick-${u.userID}`,
                    "aria-label": `Kick ${u.userName || u.userID} off seat ${i}`,
                    onclick: () => void kick(u.userID, i),
                  },
                  "Kick",
                )
              : null,
            h(
              "button",
              {
                type: "button",
                "data-key": `lock-${i}`,
                "data-testid": `${seat.isLocked ? "unlock" : "lock"}-${i}`,
                "aria-label": `${seat.isLocked ? "Unlock" : "Lock"} seat ${i}`,
                onclick: () => void lock(seat),
              },
              seat.isLocked ? "Unlock" : "Lock",
            ),
          ),
        );
      }),
    );
    // The move and pick forms follow the seats.
    setOptions(
      moveUser,
      list.flatMap((s) => (s.user ? [[s.user.userID, `${s.user.userName || s.user.userID} (seat ${s.seatIndex})`] as const] : [])),
    );
    setOptions(moveSeat, list.map((s) => [String(s.seatIndex), seatLabel(s)] as const));
    setOptions(pickSeat, [["-1", "any free seat"] as const, ...list.map((s) => [String(s.seatIndex), seatLabel(s)] as const)]);
    if (document.activeElement !== seatCount) seatCount.value = String(list.length);
  };

  const drawRequests = (): void => {
    if (!observer) return;
    const now = Date.now();
    const apps = observer.applications.value;
    const invs = observer.invitations.value;
    const cands = observer.candidates.value;
    counts.applications.textContent = `(${apps.length})`;
    counts.invitations.textContent = `(${invs.length})`;
    counts.candidates.textContent = `(${cands.length})`;
    render(
      applications,
      apps.length === 0 ? h("li", { class: "muted" }, "No pending application.") : apps.map((a) => applicationRow(a, now)),
    );
    render(
      invitations,
      invs.length === 0 ? h("li", { class: "muted" }, "No open invitation.") : invs.map((i) => invitationRow(i, now)),
    );
    render(
      candidates,
      cands.length === 0 ? h("li", { class: "muted" }, "Nobody else in the room.") : cands.map((c) => candidateRow(c)),
    );
    render(
      pickUsers,
      [...apps.map((a) => a.user), ...cands].map((u) => h("option", { value: u.userID }, u.userName || u.userID)),
    );
  };

  const applicationRow = (a: Application, now: number): HTMLElement => {
    const name = a.user.userName || a.user.userID;
    return h(
      "li",
      { "data-testid": `application-${a.user.userID}` },
      person(a.user),
      h(
        "div",
        { class: "details small" },
        h("span", {}, seatName(a.seatIndex)),
        h(
          "span",
          { "data-testid": `waited-${a.user.userID}`, ...(a.requestedMs === null ? {} : { title: `applied at ${stamp(a.requestedMs)}` }) },
          a.requestedMs === null ? "waiting" : `waited ${duration(now - a.requestedMs)}`,
        ),
        h(
          "span",
          { class: a.deadlineMs - now < 10_000 ? "attention" : "", "data-testid": `left-${a.user.userID}`, title: `expires at ${stamp(a.deadlineMs)}` },
          `${duration(a.deadlineMs - now)} left`,
        ),
        a.extraInfo ? h("span", { class: "extra" }, `“${a.extraInfo}”`) : null,
      ),
      h(
        "div",
        { class: "buttons" },
        h(
          "button",
          {
            type: "button",
            "data-key": `accept-${a.user.userID}`,
            "data-testid": `accept-${a.user.userID}`,
            "aria-label": `Accept ${name}: pick onto ${seatName(a.seatIndex)}`,
            onclick: () => void pick(a.user.userID, a.seatIndex),
          },
          "Accept",
        ),
      ),
    );
  };

  const invitationRow = (i: Invitation, now: number): HTMLElement =>
    h(
      "li",
      { "data-testid": `invitation-${i.user.userID}` },
      person(i.user),
      h(
        "div",
        { class: "details small" },
        h("span", {}, `invited by ${i.inviterID}`),
        h("span", {}, seatName(i.seatIndex)),
        h("span", { title: `expires at ${stamp(i.deadlineMs)}` }, `${duration(i.deadlineMs - now)} left`),
      ),
    );

  const candidateRow = (c: LiveUserInfo): HTMLElement =>
    h(
      "li",
      { "data-testid": `candidate-${c.userID}` },
      person(c),
      h(
        "div",
        { class: "buttons" },
        h(
          "button",
          {
            type: "button",
            "data-key": `pick-${c.userID}`,
            "data-testid": `pick-${c.userID}`,
            "aria-label": `Pick ${c.userName || c.userID} onto any free seat`,
            onclick: () => void pick(c.userID, -1),
          },
          "Pick",
        ),
      ),
    );

  const drawLog = (entries: readonly LogEntry[]): void => {
    render(
      log,
      entries.length === 0
        ? h("li", { class: "muted" }, "Nothing yet: transitions appear here as they happen.")
        : entries.map((e) =>
            h(
              "li",
              { "data-type": e.type },
              h("time", { datetime: new Date(e.atMs).toISOString(), title: stamp(e.atMs) }, clock(e.atMs)),
              h("span", { class: "what" }, e.type.replace(/_/g, " ")),
              h("span", { class: "who" }, e.actor === null ? "deadline" : e.actor === "@operator" ? "by admin API" : `by ${e.actor}`),
              h("span", { class: "data muted mono" }, describe(e.data)),
            ),
          ),
    );
  };

  const drawMeta = (): void => {
    if (!observer) return;
    const list = observer.seatList.value;
    const taken = list.filter((s) => s.user).length;
    const mode = observer.seatMode.value;
    meta.textContent = closed
      ? "This room was closed."
      : `${taken} of ${list.length} seats taken · ${mode === "freeToTake" ? "free to take" : "apply to take"} · version ${observer.version.value}`;
    if (document.activeElement !== seatMode) seatMode.value = mode === "freeToTake" ? "free_to_take" : "apply_to_take";
  };

  let offs: Array<() => void> = [];
  let stopped = false;
  RoomObserver.create(session.client, roomID).then(
    (o) => {
      if (stopped) {
        void o.stop();
        return;
      }
      observer = o;
      offs = [
        o.seatList.subscribe((l) => {
          drawSeats(l);
          drawMeta();
        }),
        o.seatMode.subscribe(drawMeta),
        o.version.subscribe(drawMeta),
        o.applications.subscribe(drawRequests),
        o.invitations.subscribe(drawRequests),
        o.candidates.subscribe(drawRequests),
        o.log.subscribe(drawLog),
        o.ended.subscribe((why) => {
          if (why === null) return;
          closed = true;
          drawMeta();
          root.querySelectorAll<HTMLButtonElement>(".room button").forEach((b) => (b.disabled = true));
          notice.textContent = `This room was closed.`;
        }),
      ];
      drawSeats(o.seatList.value);
      drawRequests();
      drawLog(o.log.value);
      drawMeta();
    },
    (e: unknown) => {
      meta.textContent = "";
      error.textContent = `Room ${roomID} cannot be shown: ${refusal(e).describe()}`;
    },
  );
  // Waiting times and time left move on by themselves.
  const tick = setInterval(drawRequests, 1000);
  return () => {
    stopped = true;
    clearInterval(tick);
    for (const off of offs) off();
    if (observer && !observer.isClosed) void observer.stop();
  };
}

/** A label and its control. */
function field(id: string, label: string, control: HTMLElement): HTMLElement {
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}

/** A user with avatar, name and id. */
function person(u: LiveUserInfo): HTMLElement {
  return h(
    "div",
    { class: "person" },
    avatar(u.userName || u.userID, u.avatarURL),
    h("div", {}, h("div", { class: "name" }, u.userName || u.userID), h("div", { class: "muted mono small" }, u.userID)),
  );
}

function seatName(seatIndex: number): string {
  return seatIndex < 0 ? "any seat" : `seat ${seatIndex}`;
}

function seatLabel(s: SeatInfo): string {
  const who = s.user ? s.user.userName || s.user.userID : s.isLocked ? "locked" : "empty";
  return `${s.seatIndex} (${who})`;
}

/** A transition's fields, `user_id bob · seat_index 2`. */
function describe(data: Readonly<Record<string, unknown>>): string {
  return Object.entries(data)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k} ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" · ");
}

/** Replaces a select's options, keeping the selected value when it is still offered. */
function setOptions(select: HTMLSelectElement, options: ReadonlyArray<readonly [string, string]>): void {
  const value = select.value;
  const same =
    select.options.length === options.length &&
    options.every(([v, l], i) => select.options[i]?.value === v && select.options[i]?.text === l);
  if (same) return;
  select.replaceChildren(...options.map(([v, l]) => h("option", { value: v }, l)));
  if (options.some(([v]) => v === value)) select.value = value;
}
