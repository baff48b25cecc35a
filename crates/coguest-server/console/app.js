// GENERATED from clients/console by clients/typescript/scripts/console.mjs (`npm run build:console`). Do not edit.

// clients/console/src/dom.ts
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === void 0 || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}
function append(el, children) {
  for (const c of children) {
    if (c === null || c === void 0 || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}
function render(el, ...children) {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && el.contains(active) ? active.dataset.key : void 0;
  const frag = document.createDocumentFragment();
  append(frag, children);
  el.replaceChildren(frag);
  if (key !== void 0) {
    const again = el.querySelector(`[data-key="${CSS.escape(key)}"]`);
    again?.focus();
  }
}
function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1e3));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const hours = Math.floor(m / 60);
  return m % 60 === 0 ? `${hours} h` : `${hours} h ${m % 60} min`;
}
function clock(ms) {
  return new Date(ms).toLocaleTimeString(void 0, { hour12: false });
}
function stamp(ms) {
  return new Date(ms).toLocaleString(void 0, { hour12: false });
}
function initials(name) {
  const parts = name.trim().split(/\s+/).filter((p) => p.length > 0);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : [parts[0] ?? "?"];
  return letters.map((p) => (p ?? "").charAt(0)).join("").toUpperCase();
}
function avatar(name, url) {
  const box = h("span", { class: "avatar", "aria-hidden": "true" }, initials(name));
  if (url !== "") {
    const img = h("img", { src: url, alt: "", loading: "lazy", referrerpolicy: "no-referrer" });
    img.addEventListener("error", () => img.remove());
    box.appendChild(img);
  }
  return box;
}

// clients/typescript/src/error.ts
var ErrorCode = {
  /** Unclassified server failure (storage unavailable, ...). */
  FAILED: -1,
  /** Too many commands per second on this connection. */
  FREQ_LIMIT: -2,
  /** A parameter is invalid (seat index below -1, empty id, ...). */
  INVALID_PARAMETER: -1001,
  /** The room does not exist (HTTP API). */
  ROOM_ID_NOT_EXIST: -2100,
  /** The command needs the room joined first. */
  NOT_ENTERED_ROOM: -2101,
  /** The room id is not valid (1 to 48 printable ASCII bytes). */
  ROOM_ID_INVALID: -2105,
  /** A room with this id already exists with other settings. */
  ROOM_ID_OCCUPIED: -2106,
  /** The target user is not in the room. */
  USER_NOT_ENTERED: -2201,
  /** The owner's permission is needed. */
  NEED_OWNER_PERMISSION: -2300,
  /** A host's (owner or admin) permission is needed. */
  NEED_ADMIN_PERMISSION: -2301,
  /** Not allowed on this request (e.g. inviting oneself). */
  REQUEST_NO_PERMISSION: -2310,
  /** No such pending request, or it was already processed (another host answered first). */
  REQUEST_ID_INVALID: -2311,
  /** The same request is already pending. */
  REQUEST_ID_REPEAT: -2312,
  /** The user is already on a seat. */
  ALREADY_IN_SEAT: -2341,
  /** The seat is occupied (or reserved for the owner). */
  SEAT_OCCUPIED: -2342,
  /** The seat is locked. */
  SEAT_LOCKED: -2343,
  /** No seat with this index. */
  SEAT_INDEX_NOT_EXIST: -2344,
  /** The user is not on a seat. */
  USER_NOT_IN_SEAT: -2345,
  /** Every seat is taken. */
  ALL_SEAT_OCCUPIED: -2346,
  /** The frame is not valid JSON, or not a valid message. */
  MALFORMED_FRAME: -3001,
  /** The `cmd` is not a known command. */
  UNKNOWN_COMMAND: -3002,
  /** The frame is larger than the server accepts. */
  FRAME_TOO_LARGE: -3003,
  /** `extraInfo` is larger than the room accepts. */
  EXTRA_INFO_TOO_LARGE: -3004,
  /** The timeout is outside the room's bounds. */
  TIMEOUT_OUT_OF_RANGE: -3005,
  /** No token, or a token that is forged or malformed. */
  UNAUTHENTICATED: -3010,
  /** The token has expired. */
  TOKEN_EXPIRED: -3011,
  /** The token is for another room. */
  WRONG_ROOM: -3012,
  /** The user has too many connections open. */
  TOO_MANY_CONNECTIONS: -3013,
  /** `updateToken`: the new token is for another user, role or room than the connection's. */
  TOKEN_MISMATCH: -3014,
  /** The room has its maximum number of members. */
  ROOM_FULL: -3020,
  /** Another owner is already in the room. */
  OWNER_ALREADY_PRESENT: -3021,
  /** The owner stays on seat 0 in this room. */
  OWNER_MUST_STAY_ON_SEAT: -3022,
  /** The seat is already in the requested lock state. */
  SEAT_LOCK_UNCHANGED: -3023,
  /** `takeSeat` in an apply-to-take room: apply instead. */
  SEAT_MODE_APPLY_TO_TAKE: -3024,
  /** A host disallowed opening this device (for the user or its seat). */
  DEVICE_DISALLOWED: -3025,
  /** `maxSeatCount` would drop an occupied seat: empty it first. */
  SEAT_COUNT_BELOW_OCCUPIED: -3026,
  /** The user is already on the target seat. */
  ALREADY_ON_TARGET_SEAT: -3027,
  /** The owner's role cannot be changed. */
  CANNOT_CHANGE_OWNER_ROLE: -3028,
  /** `accept_next_application` with no application pending. */
  QUEUE_EMPTY: -3029,
  /** The server is shutting down; reconnect. */
  SHUTTING_DOWN: -3030,
  /** The room settings are invalid. */
  INVALID_ROOM_SETTINGS: -3040,
  /**
   * The app's approval hook turned the request down; the error carries the app's
   * {@link CoGuestError.appCode | appCode} and {@link CoGuestError.reason | reason}. Nothing changed.
   */
  APPROVAL_DENIED: -3050,
  /** The app's approval hook could not be asked; nothing changed, retry later. */
  APPROVAL_UNAVAILABLE: -3051
};
var CoGuestError = class extends Error {
  /** The server could not be reached, or the WebSocket handshake failed. */
  static CONNECT_FAILED = -4100;
  /** The client was closed ({@link Client.close}). */
  static CLOSED = -4101;
  /**
   * The call's deadline (`requestTimeoutMs`) passed before it could be written to any
   * connection: the client was disconnected the whole time. It was **not applied and never
   * will be** (the SDK drops it); calling again is safe. From `CoGuestStore.create`: the
   * room's first join was not answered in time; no store exists (if the join went out, the
   * SDK sends a `leave` to undo it).
   */
  static TIMEOUT = -4102;
  /**
   * The call was written to a connection but no answer arrived before its deadline (re-sends
   * with the same request id after reconnecting included). The outcome is **unknown**: read
   * the lists before deciding; calling again sends a new request, which the server refuses
   * with a precise code while the first one's effect stands.
   */
  static OUTCOME_UNKNOWN = -4103;
  /**
   * The server closed the connection with close code 4001 (token refused or expired) without
   * saying more. When it did say more, the error carries the server's code instead (`-3010`,
   * `-3011`, `-3012`). The client stops reconnecting.
   */
  static UNAUTHORIZED = -4104;
  /** The server sent something this SDK does not understand (no `welcome`, another protocol version). */
  static PROTOCOL = -4105;
  /** The room was closed by the server, or this store left it: the store is no longer a member. */
  static ROOM_CLOSED = -4106;
  /** A server URL given to {@link Client.connect} is not a `ws://` or `wss://` URL. */
  static INVALID_URL = -4107;
  /** The numeric code: the server's (see {@link ErrorCode}) or one of the SDK constants. Never `0`. */
  code;
  /** For `APPROVAL_DENIED` (-3050): the code the app's approval hook gave, if any. */
  appCode;
  /** For `APPROVAL_DENIED` (-3050): the reason the app's approval hook gave, if any. */
  reason;
  /** An error with this code and message (and, for a denial, the app's code and reason). */
  constructor(code, message, approval) {
    super(message);
    this.name = "CoGuestError";
    this.code = code;
    this.appCode = approval?.appCode;
    this.reason = approval?.reason;
  }
  /** The protocol name of the code (`"REQUEST_ID_INVALID"`, ...), when it is one of the server's. */
  get codeName() {
    for (const [name, value] of Object.entries(ErrorCode)) {
      if (value === this.code) return name;
    }
    return void 0;
  }
  /** `message (code N)`. */
  toString() {
    return `${this.name}: ${this.message} (code ${this.code})`;
  }
};
function closedError() {
  return new CoGuestError(CoGuestError.CLOSED, "the client is closed");
}
function isAuthCode(code) {
  return code === ErrorCode.UNAUTHENTICATED || code === ErrorCode.TOKEN_EXPIRED || code === ErrorCode.WRONG_ROOM;
}

// clients/typescript/src/observable.ts
function reportCallbackError(e) {
  const g = globalThis;
  if (typeof g.reportError === "function") g.reportError(e);
  else console.error("coguest-client: a callback threw", e);
}
function deepEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual(a[k], b[k])) {
      return false;
    }
  }
  return true;
}
var Observable = class {
  #value;
  #subscribers = [];
  constructor(initial) {
    this.#value = initial;
  }
  get value() {
    return this.#value;
  }
  subscribe(fn) {
    const entry = (v) => fn(v);
    this.#subscribers.push(entry);
    return () => {
      const i = this.#subscribers.indexOf(entry);
      if (i >= 0) this.#subscribers.splice(i, 1);
    };
  }
  /** Stores `value` without telling anyone; whether it differs from the previous one. */
  replace(value) {
    if (deepEqual(this.#value, value)) return false;
    this.#value = value;
    return true;
  }
  /** Tells every subscriber the current value. */
  notify() {
    const value = this.#value;
    for (const s of [...this.#subscribers]) {
      if (!this.#subscribers.includes(s)) continue;
      try {
        s(value);
      } catch (e) {
        reportCallbackError(e);
      }
    }
  }
  /** Drops every subscriber. */
  clear() {
    this.#subscribers = [];
  }
};
function publish(updates) {
  const changed = [];
  for (const [o, v] of updates) if (o.replace(v)) changed.push(o);
  for (const o of changed) o.notify();
}

// clients/typescript/src/state.ts
var EMPTY_VIEWS = Object.freeze({
  connected: Object.freeze([]),
  invitees: Object.freeze([]),
  applicants: Object.freeze([]),
  candidates: Object.freeze([]),
  seats: Object.freeze([]),
  seatMode: "applyToTake",
  queuePosition: null
});
function emptyWireState() {
  return { version: 0, connected: [], invitees: [], applicants: [], candidates: [], seats: [], seat_mode: "apply_to_take" };
}
var ClientState = class {
  /** The room. */
  room;
  #view = emptyWireState();
  /** A snapshot has been applied, so the views are meaningful and a reconnect can resume. */
  #hasSnapshot = false;
  /** The newest version applied. */
  #version = 0;
  /** How many messages carrying `#version` were applied. */
  #seenAtVersion = 0;
  /** Whether every message of `#version` is known to be applied. */
  #complete = true;
  /** Messages of `#version` still to drop: the server is replaying ones already applied. */
  #skip = 0;
  /** The version of views changed since they were last published, if any. */
  #dirty = null;
  /** An empty state for `room`, before its first snapshot. */
  constructor(room) {
    this.room = room;
  }
  /** The newest room version applied. */
  get version() {
    return this.#version;
  }
  /** The wire view (with request ids and deadlines). */
  get wireView() {
    return this.#view;
  }
  /**
   * The `since` to send with `join` on a reconnect, or `null` for a fresh join (no snapshot
   * yet). Call once per join attempt: it arms the duplicate filter for the replay.
   */
  resumeFrom() {
    if (!this.#hasSnapshot) return null;
    if (this.#complete || this.#version === 0) {
      this.#skip = 0;
      return this.#version;
    }
    this.#skip = this.#seenAtVersion;
    return this.#version - 1;
  }
  /**
   * Whether the views must be published *before* applying `msg`: they hold changes of an
   * older version, which is therefore whole (one connection delivers a version's messages
   * back to back). Not before a snapshot: it replaces the views, and what they hold may be
   * the first half of a version cut by a dropped connection.
   */
  publishBefore(msg) {
    if (this.#dirty === null || !isForRoom(msg, this.room)) return false;
    return (msg.t === "event" || msg.t === "change") && msg.version > this.#dirty;
  }
  /**
   * Applies one server message about this room and returns the listener events it produced,
   * in order. Messages for other rooms, acks and errors are ignored here.
   */
  apply(msg) {
    if (!isForRoom(msg, this.room)) return [];
    switch (msg.t) {
      case "snapshot":
        this.#view = normalize(msg.state);
        this.#hasSnapshot = true;
        this.#version = msg.state.version;
        this.#seenAtVersion = 0;
        this.#complete = true;
        this.#skip = 0;
        this.#dirty = this.#version;
        return [];
      case "resumed":
        if (msg.version > this.#version) {
          this.#version = msg.version;
          this.#seenAtVersion = 0;
        }
        this.#view.version = this.#version;
        this.#complete = true;
        this.#skip = 0;
        return [];
      case "change":
        if (this.#admit(msg.version)) {
          applyChange(this.#view, msg.version, msg.change);
          this.#dirty = msg.version;
        }
        return [];
      case "event": {
        if (!this.#admit(msg.version)) return [];
        const out = [mapEvent(msg.event)];
        if (msg.event.type === "kicked_off_seat") {
          out.push({
            kind: "seat",
            event: { type: "kickedOffSeat", seatIndex: msg.event.seat_index, hostUser: user(msg.event.host_user) }
          });
        }
        return out;
      }
      default:
        return [];
    }
  }
  /**
   * After {@link ClientState.apply}: whether to publish the views now (they hold a whole
   * version), soon (changes of a version whose end is not known yet; the caller publishes
   * after a short delay unless something else closes the version first), or not at all.
   */
  publishAfter(msg, events) {
    if (this.#dirty === null) return "no";
    if (msg.t === "snapshot" || msg.t === "resumed" || events.length > 0) return "now";
    return msg.t === "change" ? "soon" : "no";
  }
  /** Whether an ack for this room at `version` closes the pending version (publish now). */
  publishOnAck(version) {
    return this.#dirty !== null && version !== null && version !== void 0 && version >= this.#dirty;
  }
  /** Whether views changed since the last {@link ClientState.takeViews}. */
  get dirty() {
    return this.#dirty !== null;
  }
  /** The views to publish; marks them published. */
  takeViews() {
    this.#dirty = null;
    return this.views();
  }
  /** Decides whether a versioned message is new, updating the counters. */
  #admit(version) {
    if (version < this.#version) return false;
    if (version === this.#version) {
      if (this.#skip > 0) {
        this.#skip -= 1;
        return false;
      }
      if (this.#complete) return false;
      this.#seenAtVersion += 1;
      return true;
    }
    this.#version = version;
    this.#seenAtVersion = 1;
    this.#complete = false;
    this.#skip = 0;
    return true;
  }
  /** An observer's lists, from the wire view (frozen). */
  observerViews() {
    const v = this.#view;
    return Object.freeze({
      version: this.#version,
      applications: Object.freeze(
        v.applicants.map(
          (a) => Object.freeze({
            user: user(a.user),
            requestID: a.request_id,
            seatIndex: a.seat_index,
            deadlineMs: a.deadline_ms,
            requestedMs: a.requested_ms ?? null,
            extraInfo: a.extra_info ?? null
          })
        )
      ),
      invitations: Object.freeze(
        v.invitees.map(
          (i) => Object.freeze({
            user: user(i.user),
            inviterID: i.inviter_id,
            requestID: i.request_id,
            seatIndex: i.seat_index,
            deadlineMs: i.deadline_ms,
            requestedMs: i.requested_ms ?? null
          })
        )
      )
    });
  }
  /** The SDK-level lists (frozen). */
  views() {
    const v = this.#view;
    const invitees = [];
    for (const i of v.invitees) {
      if (!invitees.some((u) => u.userID === i.user.user_id)) invitees.push(user(i.user));
    }
    const seats = v.seats ?? [];
    const connected = v.connected.map((s) => {
      const seat = seats.find((x) => x.seat_index === s.seat_index);
      return seatUser(s, this.room, seat?.devices_on);
    });
    return Object.freeze({
      connected: Object.freeze(connected),
      invitees: Object.freeze(invitees),
      applicants: Object.freeze(v.applicants.map((a) => user(a.user))),
      candidates: Object.freeze(v.candidates.map(user)),
      seats: Object.freeze(seats.map((s) => seatInfo(s, this.room))),
      seatMode: seatModeFromWire(v.seat_mode ?? "apply_to_take"),
      queuePosition: v.queue ? Object.freeze({ position: v.queue.position, length: v.queue.length }) : null
    });
  }
};
function isForRoom(msg, room) {
  return (msg.t === "snapshot" || msg.t === "event" || msg.t === "change" || msg.t === "resumed") && msg.room === room;
}
function normalize(s) {
  return {
    ...s,
    connected: [...s.connected],
    invitees: [...s.invitees],
    applicants: [...s.applicants],
    candidates: [...s.candidates],
    seats: [...s.seats ?? []],
    seat_mode: s.seat_mode ?? "apply_to_take",
    queue: s.queue ?? null
  };
}
function applyChange(s, version, change) {
  s.version = Math.max(s.version, version);
  switch (change.type) {
    case "applicant_added":
      s.applicants = s.applicants.filter((a) => a.user.user_id !== change.applicant.user.user_id);
      s.applicants.push(change.applicant);
      return;
    case "applicant_removed":
      s.applicants = s.applicants.filter((a) => a.user.user_id !== change.user_id);
      return;
    case "invitee_added":
      s.invitees = s.invitees.filter(
        (i) => !(i.user.user_id === change.invitee.user.user_id && i.inviter_id === change.invitee.inviter_id)
      );
      s.invitees.push(change.invitee);
      return;
    case "invitee_removed":
      s.invitees = s.invitees.filter((i) => !(i.user.user_id === change.user_id && i.inviter_id === change.inviter_id));
      return;
    case "candidate_added":
      s.candidates = s.candidates.filter((c) => c.user_id !== change.user.user_id);
      s.candidates.push(change.user);
      return;
    case "candidate_removed":
      s.candidates = s.candidates.filter((c) => c.user_id !== change.user_id);
      return;
    case "seats":
      s.connected = change.seats.flatMap((x) => x.user ? [x.user] : []);
      s.seats = [...change.seats];
      return;
    case "settings":
      s.seat_mode = change.seat_mode;
      return;
    case "reset":
      Object.assign(s, normalize(change.state));
      return;
    case "queue_position":
      s.queue = change.queue ?? null;
      return;
  }
}
function user(u) {
  return Object.freeze({ userID: u.user_id, userName: u.user_name, avatarURL: u.avatar_url });
}
function roleFromWire(r) {
  return r;
}
function seatUser(s, liveID, devices) {
  return Object.freeze({
    userID: s.user_id,
    userName: s.user_name,
    avatarURL: s.avatar_url,
    seatIndex: s.seat_index,
    role: roleFromWire(s.role),
    liveID,
    microphoneOn: devices?.microphone ?? false,
    cameraOn: devices?.camera ?? false
  });
}
function seatInfo(s, liveID) {
  return Object.freeze({
    seatIndex: s.seat_index,
    user: s.user ? seatUser(s.user, liveID, s.devices_on) : null,
    isLocked: s.locked ?? false,
    seatMicrophoneDisallowed: s.seat_disallowed?.microphone ?? false,
    seatCameraDisallowed: s.seat_disallowed?.camera ?? false,
    userMicrophoneDisallowed: s.user_disallowed?.microphone ?? false,
    userCameraDisallowed: s.user_disallowed?.camera ?? false
  });
}
function seatModeFromWire(m) {
  return m === "free_to_take" ? "freeToTake" : "applyToTake";
}
function reason(r) {
  return r === "timeout" ? 0 : 1;
}
function mapEvent(e) {
  switch (e.type) {
    case "guest_application_received":
      return {
        kind: "host",
        event: {
          type: "guestApplicationReceived",
          guestUser: user(e.guest_user),
          seatIndex: e.seat_index,
          extraInfo: e.extra_info ?? null
        }
      };
    case "guest_application_cancelled":
      return { kind: "host", event: { type: "guestApplicationCancelled", guestUser: user(e.guest_user) } };
    case "guest_application_processed_by_other_host":
      return {
        kind: "host",
        event: {
          type: "guestApplicationProcessedByOtherHost",
          guestUser: user(e.guest_user),
          hostUser: user(e.host_user)
        }
      };
    case "host_invitation_responded":
      return {
        kind: "host",
        event: { type: "hostInvitationResponded", isAccept: e.is_accept, guestUser: user(e.guest_user) }
      };
    case "host_invitation_no_response":
      return {
        kind: "host",
        event: { type: "hostInvitationNoResponse", guestUser: user(e.guest_user), reason: reason(e.reason) }
      };
    case "host_invitation_received":
      return {
        kind: "guest",
        event: {
          type: "hostInvitationReceived",
          hostUser: user(e.host_user),
          seatIndex: e.seat_index,
          extraInfo: e.extra_info ?? null
        }
      };
    case "host_invitation_cancelled":
      return { kind: "guest", event: { type: "hostInvitationCancelled", hostUser: user(e.host_user) } };
    case "guest_application_responded":
      return {
        kind: "guest",
        event: { type: "guestApplicationResponded", isAccept: e.is_accept, hostUser: user(e.host_user) }
      };
    case "guest_application_no_response":
      return { kind: "guest", event: { type: "guestApplicationNoResponse", reason: reason(e.reason) } };
    case "kicked_off_seat":
      return {
        kind: "guest",
        event: { type: "kickedOffSeat", seatIndex: e.seat_index, hostUser: user(e.host_user) }
      };
    case "moved_to_seat":
      return {
        kind: "seat",
        event: {
          type: "movedToSeat",
          fromSeatIndex: e.from_seat_index,
          toSeatIndex: e.to_seat_index,
          hostUser: user(e.host_user)
        }
      };
    case "device_permission_changed":
      return {
        kind: "seat",
        event: {
          type: "devicePermissionChanged",
          device: e.device,
          allowed: e.allowed,
          seatIndex: e.seat_index ?? null,
          hostUser: user(e.host_user)
        }
      };
    case "role_changed":
      return { kind: "seat", event: { type: "roleChanged", role: roleFromWire(e.role), byUser: user(e.by_user) } };
  }
}
function logEntry(e) {
  return Object.freeze({
    version: e.version,
    n: e.n,
    type: e.type,
    actor: e.actor ?? null,
    atMs: e.at_ms,
    data: Object.freeze({ ...e.data })
  });
}
function roomSummary(s) {
  return Object.freeze({
    roomID: s.room,
    version: s.version,
    seatCount: s.seat_count,
    seated: s.seated,
    members: s.members,
    applications: s.applicants,
    invitations: s.invitees,
    seatMode: seatModeFromWire(s.seat_mode),
    lastChangeMs: s.last_change_ms ?? null
  });
}

// clients/typescript/src/transport.ts
var OPEN = 1;
var ctor;
function webSocketCtor() {
  ctor ??= (async () => {
    const native = globalThis.WebSocket;
    if (typeof native === "function") return native;
    try {
      const ws = await import("ws");
      const found = ws.WebSocket ?? ws.default;
      if (typeof found === "function") return found;
    } catch {
    }
    ctor = void 0;
    throw new CoGuestError(
      CoGuestError.CONNECT_FAILED,
      "no WebSocket implementation: this runtime has no global WebSocket and the `ws` package could not be loaded"
    );
  })();
  return ctor;
}
function wsURL(base, token) {
  const b = base.trim().replace(/\/+$/, "");
  if (!/^wss?:\/\/[^/?#\s]+/i.test(b)) {
    throw new CoGuestError(CoGuestError.INVALID_URL, `${JSON.stringify(base)} is not a ws:// or wss:// URL`);
  }
  return `${b}/v1/ws?token=${encodeURIComponent(token)}`;
}
async function openSocket(url, timeoutMs) {
  const Ctor = await webSocketCtor();
  let ws;
  try {
    ws = new Ctor(url);
  } catch (e) {
    throw new CoGuestError(CoGuestError.INVALID_URL, `cannot open ${redact(url)}: ${String(e)}`);
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      fail(new CoGuestError(CoGuestError.CONNECT_FAILED, `connecting to ${redact(url)} timed out`));
      try {
        ws.close();
      } catch {
      }
    }, timeoutMs);
    const fail = (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.onopen = ws.onmessage = ws.onclose = null;
      ws.onerror = ignore;
      reject(e);
    };
    ws.onerror = () => {
    };
    ws.onclose = (ev) => fail(new CoGuestError(CoGuestError.CONNECT_FAILED, `could not connect to ${redact(url)} (close ${ev.code})`));
    ws.onopen = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      let closed = false;
      const early = [];
      let earlyClose = null;
      let onMessage = null;
      let onClose = null;
      const socket = {
        send(text) {
          if (closed || ws.readyState !== OPEN) return false;
          try {
            ws.send(text);
            return true;
          } catch {
            return false;
          }
        },
        close(code) {
          if (closed) return;
          closed = true;
          ws.onmessage = ws.onclose = null;
          ws.onerror = ignore;
          try {
            if (code === void 0) ws.close();
            else ws.close(code);
          } catch {
          }
        },
        listen(m, c) {
          onMessage = m;
          onClose = c;
          for (const text of early.splice(0)) m(text);
          if (earlyClose && !closed) {
            closed = true;
            c(...earlyClose);
          }
        }
      };
      ws.onmessage = (ev) => {
        if (typeof ev.data !== "string") return;
        if (onMessage) onMessage(ev.data);
        else early.push(ev.data);
      };
      ws.onclose = (ev) => {
        if (closed) return;
        const code = ev.code || 1006;
        const reason2 = ev.reason || "";
        if (!onClose) {
          earlyClose = [code, reason2];
          return;
        }
        closed = true;
        onClose(code, reason2);
      };
      resolve(socket);
    };
  });
}
function ignore() {
}
function redact(url) {
  return url.replace(/([?&]token=)[^&]*/, "$1…");
}

// clients/typescript/src/connection.ts
var PROTOCOL_VERSION = 1;
var CLOSE_UNAUTHORIZED = 4001;
var ConnectError = class extends Error {
  /** The refusal and whether it is of the token. */
  constructor(unauthorized, error) {
    super(error.message);
    this.unauthorized = unauthorized;
    this.error = error;
  }
};
var now = () => performance.now();
function parseServerMsg(text) {
  try {
    const v = JSON.parse(text);
    if (typeof v === "object" && v !== null && typeof v.t === "string") {
      return v;
    }
  } catch {
  }
  return null;
}
async function connectAny(cfg, start) {
  const n = Math.max(cfg.urls.length, 1);
  let last = new CoGuestError(CoGuestError.CONNECT_FAILED, "no server URL given");
  for (let k = 0; k < cfg.urls.length; k++) {
    const idx = (start + k) % n;
    const url = cfg.urls[idx];
    if (url === void 0) continue;
    try {
      return [await connectOne(url, cfg.token, cfg.connectTimeoutMs), idx];
    } catch (e) {
      if (e instanceof ConnectError) {
        if (e.unauthorized) throw e;
        last = e.error;
      } else if (e instanceof CoGuestError) {
        last = e;
      } else {
        last = new CoGuestError(CoGuestError.CONNECT_FAILED, String(e));
      }
    }
  }
  throw new ConnectError(false, last);
}
async function connectOne(base, token, timeoutMs) {
  const deadline = now() + timeoutMs;
  let socket;
  try {
    socket = await openSocket(wsURL(base, token), timeoutMs);
  } catch (e) {
    throw new ConnectError(false, e instanceof CoGuestError ? e : new CoGuestError(CoGuestError.CONNECT_FAILED, String(e)));
  }
  return new Promise((resolve, reject) => {
    let refusal2 = null;
    let greeted = false;
    const backlog = [];
    let closedAfter = null;
    let handlers = null;
    const fail = (e) => {
      clearTimeout(timer);
      socket.close();
      reject(e);
    };
    const timer = setTimeout(
      () => fail(new ConnectError(false, new CoGuestError(CoGuestError.CONNECT_FAILED, `no \`welcome\` from ${base} in time`))),
      Math.max(0, deadline - now())
    );
    socket.listen(
      (text) => {
        if (greeted) {
          if (handlers) handlers[0](text);
          else backlog.push(text);
          return;
        }
        const msg = parseServerMsg(text);
        if (msg?.t === "welcome") {
          if (msg.protocol !== PROTOCOL_VERSION) {
            fail(
              new ConnectError(
                true,
                new CoGuestError(
                  CoGuestError.PROTOCOL,
                  `the server speaks protocol ${msg.protocol}, this SDK speaks ${PROTOCOL_VERSION}`
                )
              )
            );
            return;
          }
          greeted = true;
          clearTimeout(timer);
          resolve({
            socket,
            welcome: { userID: msg.user_id, role: msg.role },
            start(onMessage, onClose) {
              handlers = [onMessage, onClose];
              for (const t of backlog.splice(0)) onMessage(t);
              if (closedAfter) onClose(...closedAfter);
            }
          });
        } else if (msg?.t === "error") {
          refusal2 = new CoGuestError(msg.code, msg.message);
        } else {
          fail(new ConnectError(false, new CoGuestError(CoGuestError.PROTOCOL, "the server did not start with `welcome`")));
        }
      },
      (code, reason2) => {
        if (greeted) {
          if (handlers) handlers[1](code, reason2);
          else closedAfter = [code, reason2];
          return;
        }
        clearTimeout(timer);
        if (code === CLOSE_UNAUTHORIZED) {
          reject(
            new ConnectError(
              true,
              refusal2 ?? new CoGuestError(CoGuestError.UNAUTHORIZED, `the server refused the token${reason2 ? `: ${reason2}` : ""}`)
            )
          );
        } else if (refusal2 && isAuthCode(refusal2.code)) {
          reject(new ConnectError(true, refusal2));
        } else {
          reject(
            new ConnectError(
              false,
              refusal2 ?? new CoGuestError(CoGuestError.CONNECT_FAILED, `${base} closed the connection before \`welcome\``)
            )
          );
        }
      }
    );
  });
}

// clients/typescript/src/actor.ts
var Actor = class _Actor {
  status = new Observable("connecting");
  /** Why the client stopped, when the server refused its token. */
  closeError = null;
  /** Failed reconnect attempts since the connection dropped. */
  attempt = 0;
  welcome;
  #cfg;
  #nextId = firstRequestID();
  #rooms = /* @__PURE__ */ new Map();
  /** Requests by id; ids only grow, so this map's order is the sending order. */
  #pending = /* @__PURE__ */ new Map();
  /** Join frames in flight on this connection: request id → room. */
  #joins = /* @__PURE__ */ new Map();
  #conn = null;
  #stopped = null;
  /** The last token refusal the server explained, reported when it then closes with 4001. */
  #authError = null;
  #urlIdx;
  #deadlineTimer = null;
  #reconnectTimer = null;
  #connecting = false;
  /** The rooms list's handler, while watched (`observe_rooms`, sent again on every reconnect). */
  #roomsFeed = null;
  constructor(cfg, greeted, urlIdx) {
    this.#cfg = cfg;
    this.welcome = greeted.welcome;
    this.#urlIdx = urlIdx;
    this.#connected(greeted);
  }
  /** Connects once (every URL in turn); the actor, running, once the server said `welcome`. */
  static async connect(cfg) {
    try {
      const [greeted, idx] = await connectAny(cfg, 0);
      return new _Actor(cfg, greeted, idx);
    } catch (e) {
      throw e instanceof ConnectError ? e.error : e;
    }
  }
  /** The token used for the next connection. */
  get token() {
    return this.#cfg.token;
  }
  /** Sends one command and resolves with its answer. */
  request(room, command) {
    if (this.#stopped) return Promise.reject(this.#stopped);
    return new Promise((resolve, reject) => {
      const id = this.#freshID();
      const frame = room === null ? { id, ...command } : { id, room, ...command };
      const sent = this.#send(frame);
      this.#pending.set(id, { frame, reply: { resolve, reject }, deadline: now() + this.#cfg.requestTimeoutMs, sent });
      this.#armDeadline();
    });
  }
  /**
   * Joins `room` (or, with `observe`, observes it), feeding `shared`; resolves once the
   * snapshot and the ack arrived.
   */
  join(room, shared, observe = false) {
    if (this.#stopped) return Promise.reject(this.#stopped);
    if (this.#rooms.has(room)) {
      return Promise.reject(
        new CoGuestError(-2312, `room ${JSON.stringify(room)} is already joined by this client`)
      );
    }
    return new Promise((resolve, reject) => {
      this.#rooms.set(room, {
        state: new ClientState(room),
        shared,
        observe,
        firstJoin: { reply: { resolve, reject }, deadline: now() + this.#cfg.requestTimeoutMs },
        joinSent: false,
        publishTimer: null
      });
      if (this.#conn) this.#sendJoin(room);
      this.#armDeadline();
    });
  }
  /**
   * The store of `room` goes: its lists empty, its callbacks stop, and a `leave` is sent (after
   * a reconnect if need be). Resolves once the server answered it, either way.
   */
  leave(room) {
    const r = this.#rooms.get(room);
    if (!r) return Promise.resolve();
    this.#dropRoom(room, r);
    r.shared.markClosed(`this client left room ${JSON.stringify(room)}`);
    return new Promise((resolve, reject) => {
      this.#queueLeave(room, r.observe, {
        resolve: () => resolve(),
        // A refusal means the connection is not a member: the store is out either way.
        reject: (e) => isServerCode(e.code) ? resolve() : reject(e)
      });
      this.#armDeadline();
    });
  }
  /**
   * Presents a new token: used for every later connection, and sent to the open one
   * (`update_token`). A token the server refuses is forgotten (if no newer one was given since).
   */
  async updateToken(token) {
    if (this.#stopped) throw this.#stopped;
    const previous = this.#cfg.token;
    this.#cfg.token = token;
    try {
      await this.request(null, { cmd: "update_token", token });
    } catch (e) {
      if (e instanceof CoGuestError && isServerCode(e.code) && this.#cfg.token === token) {
        this.#cfg.token = previous;
      }
      throw e;
    }
  }
  /** Closes the connection for good: calls in flight and later calls fail with `CLOSED`. */
  close() {
    if (this.#stopped) return;
    const err = closedError();
    this.#stopped = err;
    this.#conn?.socket.close(1e3);
    this.#teardown(err);
  }
  // --- Turns -------------------------------------------------------------------------------
  #freshID() {
    return this.#nextId++;
  }
  #send(frame) {
    return this.#conn?.socket.send(JSON.stringify(frame)) ?? false;
  }
  /**
   * Watches the rooms list: `onRooms` gets every `rooms` message, the full list first and
   * again after each reconnect. Resolves once the server accepted.
   */
  async watchRooms(onRooms) {
    this.#roomsFeed = onRooms;
    try {
      await this.request(null, { cmd: "observe_rooms" });
    } catch (e) {
      if (this.#roomsFeed === onRooms) this.#roomsFeed = null;
      throw e;
    }
  }
  /** Stops watching the rooms list. */
  async unwatchRooms() {
    if (this.#roomsFeed === null) return;
    this.#roomsFeed = null;
    if (this.#stopped) return;
    await this.request(null, { cmd: "unobserve_rooms" }).catch(() => void 0);
  }
  /** Sends `leave` (`unobserve` for an observed room) like any request (re-sent after a reconnect). */
  #queueLeave(room, observe, reply) {
    if (this.#stopped) {
      reply?.resolve({ requestID: null });
      return;
    }
    const id = this.#freshID();
    const frame = observe ? { id, room, cmd: "unobserve" } : { id, room, cmd: "leave" };
    const sent = this.#send(frame);
    this.#pending.set(id, { frame, reply, deadline: now() + this.#cfg.requestTimeoutMs, sent });
  }
  /** Sends a join for `room`, resuming from its reducer's position. */
  #sendJoin(room) {
    const r = this.#rooms.get(room);
    if (!r) return;
    const id = this.#freshID();
    const since = r.state.resumeFrom();
    if (r.firstJoin) r.joinSent = true;
    const cmd = r.observe ? "observe" : "join";
    const frame = since === null ? { id, room, cmd } : { id, room, cmd, since };
    if (this.#send(frame)) this.#joins.set(id, room);
  }
  /**
   * Joins `room` on this connection for the frames of a store of it that is gone, before the
   * live store of the same room joins (see `#connected`). Nobody waits for the answer. The live
   * store is still waiting for its first join, so nothing it received is kept: its own join
   * then asks for a fresh snapshot.
   */
  #sendJoinForOldStore(room, observe) {
    const id = this.#freshID();
    const r = this.#rooms.get(room);
    if (r?.firstJoin) r.state = new ClientState(room);
    this.#send(observe ? { id, room, cmd: "observe" } : { id, room, cmd: "join" });
  }
  #connected(greeted) {
    const conn = {
      socket: greeted.socket,
      lastHeard: now(),
      keepalive: setInterval(() => this.#keepalive(), this.#cfg.keepaliveMs)
    };
    this.#conn = conn;
    this.attempt = 0;
    this.status.replace("connected");
    this.status.notify();
    const lastLeave = /* @__PURE__ */ new Map();
    for (const [id, p] of this.#pending) {
      if ((p.frame.cmd === "leave" || p.frame.cmd === "unobserve") && typeof p.frame.room === "string") {
        lastLeave.set(p.frame.room, id);
      }
    }
    const frames = [...this.#pending.values()].map((p) => p.frame);
    const oldJoined = /* @__PURE__ */ new Set();
    const joined = /* @__PURE__ */ new Set();
    for (const frame of frames) {
      const room = frame.room;
      if (typeof room === "string" && this.#rooms.has(room) && !joined.has(room)) {
        const leave = lastLeave.get(room);
        const oldStore = leave !== void 0 && frame.id <= leave;
        if (!oldStore) {
          this.#sendJoin(room);
          joined.add(room);
        } else if (!oldJoined.has(room)) {
          oldJoined.add(room);
          const old = leave === void 0 ? void 0 : this.#pending.get(leave);
          this.#sendJoinForOldStore(room, old?.frame.cmd === "unobserve");
        }
      }
      if (this.#send(frame)) {
        const p = this.#pending.get(frame.id);
        if (p) p.sent = true;
      }
    }
    for (const room of [...this.#rooms.keys()]) if (!joined.has(room)) this.#sendJoin(room);
    const watching = [...this.#pending.values()].some((p) => p.frame.cmd === "observe_rooms");
    if (this.#roomsFeed !== null && !watching) this.#send({ id: this.#freshID(), cmd: "observe_rooms" });
    greeted.start(
      (text) => {
        if (this.#conn === conn) this.#onText(conn, text);
      },
      (code, reason2) => {
        if (this.#conn === conn) this.#onClose(code, reason2);
      }
    );
  }
  #disconnected() {
    const conn = this.#conn;
    if (!conn) return;
    this.#conn = null;
    clearInterval(conn.keepalive);
    this.#joins.clear();
    for (const r of this.#rooms.values()) this.#cancelPublish(r);
    if (!this.#stopped) {
      this.status.replace("reconnecting");
      this.status.notify();
      this.#scheduleReconnect();
    }
  }
  #scheduleReconnect() {
    if (this.#stopped || this.#conn || this.#reconnectTimer !== null || this.#connecting) return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#connecting = true;
      connectAny(this.#cfg, this.#urlIdx).then(
        ([greeted, idx]) => {
          this.#connecting = false;
          if (this.#stopped) {
            greeted.socket.close(1e3);
            return;
          }
          if (greeted.welcome.userID !== this.welcome.userID) {
            greeted.socket.close(1e3);
            this.#stop(
              new CoGuestError(
                CoGuestError.PROTOCOL,
                `reconnected as ${JSON.stringify(greeted.welcome.userID)}, not ${JSON.stringify(this.welcome.userID)}`
              )
            );
            return;
          }
          this.#urlIdx = idx;
          this.#connected(greeted);
          this.#armDeadline();
        },
        (e) => {
          this.#connecting = false;
          if (this.#stopped) return;
          if (e instanceof ConnectError && e.unauthorized) {
            this.#stop(e.error);
            return;
          }
          this.attempt += 1;
          this.#scheduleReconnect();
        }
      );
    }, backoff(this.#cfg, this.attempt));
  }
  /** The token was refused: fail everything, stop reconnecting. */
  #stop(err) {
    if (this.#stopped) return;
    this.#stopped = err;
    this.closeError = err;
    this.#conn?.socket.close();
    this.#teardown(err);
  }
  /** Fails every call and first join with `err`, stops every timer, and says `closed`. */
  #teardown(err) {
    const conn = this.#conn;
    this.#conn = null;
    if (conn) clearInterval(conn.keepalive);
    this.#joins.clear();
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    if (this.#deadlineTimer !== null) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = null;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reply?.reject(err);
    for (const r of this.#rooms.values()) {
      this.#cancelPublish(r);
      const first = r.firstJoin;
      r.firstJoin = null;
      first?.reply.reject(err);
    }
    this.status.replace("closed");
    this.status.notify();
  }
  #armDeadline() {
    if (this.#deadlineTimer !== null) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = null;
    if (this.#stopped) return;
    let next = Infinity;
    for (const p of this.#pending.values()) next = Math.min(next, p.deadline);
    for (const r of this.#rooms.values()) if (r.firstJoin) next = Math.min(next, r.firstJoin.deadline);
    if (next === Infinity) return;
    this.#deadlineTimer = setTimeout(() => {
      this.#deadlineTimer = null;
      this.#expire();
    }, Math.max(0, next - now()));
  }
  #expire() {
    const t = now();
    for (const [id, p] of [...this.#pending]) {
      if (p.deadline > t) continue;
      this.#pending.delete(id);
      const kind = p.frame.cmd;
      p.reply?.reject(
        p.sent ? new CoGuestError(
          CoGuestError.OUTCOME_UNKNOWN,
          `\`${kind}\` was sent but not answered in time; it may have been applied`
        ) : new CoGuestError(
          CoGuestError.TIMEOUT,
          `\`${kind}\` could not be sent in time (not connected); it was not applied`
        )
      );
    }
    for (const [room, r] of [...this.#rooms]) {
      if (!r.firstJoin || r.firstJoin.deadline > t) continue;
      const first = r.firstJoin;
      r.firstJoin = null;
      this.#dropRoom(room, r);
      r.shared.markClosed(`joining room ${JSON.stringify(room)} timed out`);
      first.reply.reject(new CoGuestError(CoGuestError.TIMEOUT, `joining room ${JSON.stringify(room)} timed out`));
      if (r.joinSent) this.#queueLeave(room, r.observe, null);
    }
    this.#armDeadline();
  }
  #keepalive() {
    const conn = this.#conn;
    if (!conn) return;
    if (now() - conn.lastHeard >= this.#cfg.keepaliveMs * 3) {
      conn.socket.close();
      this.#disconnected();
      return;
    }
    this.#send({ id: this.#freshID(), cmd: "ping" });
  }
  #onClose(code, reason2) {
    if (code === CLOSE_UNAUTHORIZED) {
      const err = this.#authError ?? new CoGuestError(CoGuestError.UNAUTHORIZED, `the server refused the token${reason2 ? `: ${reason2}` : ""}`);
      this.#authError = null;
      this.#stop(err);
    } else {
      this.#disconnected();
    }
  }
  #onText(conn, text) {
    conn.lastHeard = now();
    const msg = parseServerMsg(text);
    if (msg) this.#handleServer(msg);
    this.#armDeadline();
  }
  #handleServer(msg) {
    switch (msg.t) {
      case "ack": {
        const room = this.#joins.get(msg.id);
        if (room !== void 0) {
          this.#joins.delete(msg.id);
          const r = this.#rooms.get(room);
          if (!r) return;
          if (r.state.publishOnAck(msg.version)) this.#publish(r);
          const first = r.firstJoin;
          r.firstJoin = null;
          first?.reply.resolve();
          return;
        }
        const p = this.#pending.get(msg.id);
        if (!p) return;
        this.#pending.delete(msg.id);
        if (typeof p.frame.room === "string") {
          const r = this.#rooms.get(p.frame.room);
          if (r?.state.publishOnAck(msg.version)) this.#publish(r);
        }
        p.reply?.resolve({ requestID: msg.request_id ?? null });
        return;
      }
      case "error": {
        const err = new CoGuestError(msg.code, msg.message, {
          appCode: msg.app_code ?? void 0,
          reason: msg.reason ?? void 0
        });
        if (isAuthCode(msg.code)) this.#authError = err;
        if (msg.id === void 0 || msg.id === null) return;
        const room = this.#joins.get(msg.id);
        if (room !== void 0) {
          this.#joins.delete(msg.id);
          this.#joinFailed(room, err);
          return;
        }
        const p = this.#pending.get(msg.id);
        if (!p) return;
        this.#pending.delete(msg.id);
        p.reply?.reject(err);
        return;
      }
      case "welcome":
        return;
      case "log": {
        const r = this.#rooms.get(msg.room);
        if (!r?.observe) return;
        if (r.state.dirty) this.#publish(r);
        r.shared.pushLog(logEntry(msg.entry));
        return;
      }
      case "rooms":
        this.#roomsFeed?.(msg);
        return;
      case "room_closed": {
        const r = this.#rooms.get(msg.room);
        if (!r) return;
        this.#dropRoom(msg.room, r);
        r.shared.serverReason = msg.reason ?? "closed";
        r.shared.markClosed(`room ${JSON.stringify(msg.room)} was closed by the server`);
        const first = r.firstJoin;
        r.firstJoin = null;
        first?.reply.reject(new CoGuestError(CoGuestError.ROOM_CLOSED, `room ${JSON.stringify(msg.room)} was closed`));
        return;
      }
      case "snapshot":
      case "event":
      case "change":
      case "resumed": {
        const r = this.#rooms.get(msg.room);
        if (!r) return;
        if (r.state.publishBefore(msg)) this.#publish(r);
        const events = r.state.apply(msg);
        switch (r.state.publishAfter(msg, events)) {
          case "now":
            this.#publish(r);
            break;
          case "soon":
            this.#publishSoon(r);
            break;
          case "no":
            break;
        }
        r.shared.dispatch(events);
        return;
      }
    }
  }
  #joinFailed(room, err) {
    const r = this.#rooms.get(room);
    if (!r) return;
    this.#dropRoom(room, r);
    const first = r.firstJoin;
    r.firstJoin = null;
    if (first) {
      r.shared.markClosed(`joining room ${JSON.stringify(room)} failed: ${err.message}`);
      first.reply.reject(err);
    } else {
      r.shared.markClosed(`re-joining room ${JSON.stringify(room)} failed: ${err.message}`);
    }
  }
  /** Forgets `room`: no more messages reach its store. */
  #dropRoom(room, r) {
    this.#cancelPublish(r);
    this.#rooms.delete(room);
    for (const [id, j] of [...this.#joins]) if (j === room) this.#joins.delete(id);
  }
  #publish(r) {
    this.#cancelPublish(r);
    if (!r.state.dirty) return;
    const observed = r.observe ? r.state.observerViews() : null;
    r.shared.setViews(r.state.takeViews(), observed);
  }
  #publishSoon(r) {
    if (r.publishTimer !== null) return;
    r.publishTimer = setTimeout(() => {
      r.publishTimer = null;
      if (this.#conn && this.#rooms.get(r.state.room) === r) this.#publish(r);
    }, this.#cfg.coalesceMs);
  }
  #cancelPublish(r) {
    if (r.publishTimer !== null) clearTimeout(r.publishTimer);
    r.publishTimer = null;
  }
};
function isServerCode(code) {
  return code > -4e3;
}
function firstRequestID() {
  return 1 + Math.floor(Math.random() * (2 ** 52 - 2 ** 32));
}
function backoff(cfg, attempt) {
  const exp = cfg.backoffInitialMs * 2 ** Math.min(attempt, 16);
  const cap = Math.min(exp, cfg.backoffMaxMs);
  return cap * (0.5 + Math.random() / 2);
}

// clients/typescript/src/listener.ts
function dispatchHost(l, e) {
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
function dispatchGuest(l, e) {
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
function dispatchSeat(l, e) {
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

// clients/typescript/src/shared.ts
var LOG_LIMIT = 200;
var StoreShared = class {
  room;
  connected = new Observable(EMPTY_VIEWS.connected);
  invitees = new Observable(EMPTY_VIEWS.invitees);
  applicants = new Observable(EMPTY_VIEWS.applicants);
  candidates = new Observable(EMPTY_VIEWS.candidates);
  seatList = new Observable(EMPTY_VIEWS.seats);
  seatMode = new Observable(EMPTY_VIEWS.seatMode);
  queuePosition = new Observable(EMPTY_VIEWS.queuePosition);
  /** Observers only: the room version of the published lists. */
  version = new Observable(0);
  /** Observers only: pending applications with their ids and times. */
  applications = new Observable(Object.freeze([]));
  /** Observers only: pending invitations with their inviters and times. */
  invitations = new Observable(Object.freeze([]));
  /** Observers only: the event log, newest first. */
  log = new Observable(Object.freeze([]));
  /** Why the store ended, once it has (observable). */
  ended = new Observable(null);
  hostListeners = [];
  guestListeners = [];
  seatListeners = [];
  /** Why the store ended (room closed, left, re-join refused), once it has. */
  closedReason = null;
  /** Why the server closed the room, when it did (`room_closed`'s `reason`). */
  serverReason = null;
  #queue = [];
  #draining = false;
  constructor(room) {
    this.room = room;
  }
  /** Whether the store ended. */
  get closed() {
    return this.closedReason !== null;
  }
  /** Publishes new lists: every list is set, then the subscribers of those that changed run. */
  setViews(v, o = null) {
    const observed = o === null ? [] : [
      [this.version, o.version],
      [this.applications, o.applications],
      [this.invitations, o.invitations]
    ];
    publish([
      ...observed,
      [this.connected, v.connected],
      [this.invitees, v.invitees],
      [this.applicants, v.applicants],
      [this.candidates, v.candidates],
      [this.seatList, v.seats],
      [this.seatMode, v.seatMode],
      [this.queuePosition, v.queuePosition]
    ]);
  }
  /**
   * Calls the listeners of `events`, in order, one at a time. Events that arrive while a
   * callback runs (re-entrantly) are queued after the current ones, never run inside it.
   */
  dispatch(events) {
    if (events.length === 0) return;
    this.#queue.push(...events);
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let e = this.#queue.shift(); e !== void 0; e = this.#queue.shift()) this.#deliver(e);
    } finally {
      this.#draining = false;
    }
  }
  #deliver(e) {
    const call = (listeners, f) => {
      for (const l of [...listeners]) {
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
  pushLog(entry) {
    const newest = this.log.value[0];
    if (newest && (entry.version < newest.version || entry.version === newest.version && entry.n <= newest.n)) {
      return;
    }
    this.log.replace(Object.freeze([entry, ...this.log.value.slice(0, LOG_LIMIT - 1)]));
    this.log.notify();
  }
  /** The store ended: its lists empty, no more callbacks, calls fail from now on. */
  markClosed(reason2) {
    if (this.closedReason !== null) return;
    this.closedReason = reason2;
    this.#queue = [];
    this.setViews(EMPTY_VIEWS, { version: this.version.value, applications: [], invitations: [] });
    this.ended.replace(reason2);
    this.ended.notify();
  }
};
function removeOnce(list, item) {
  const i = list.indexOf(item);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}

// clients/typescript/src/client.ts
function readClaims(token) {
  const part = token.split(".")[1];
  if (part === void 0) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(
        atob(b64.padEnd(b64.length + (4 - b64.length % 4) % 4, "=")),
        (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`
      ).join("")
    );
    const v = JSON.parse(json);
    return typeof v === "object" && v !== null ? v : null;
  } catch {
    return null;
  }
}
var Client = class _Client {
  /** The authenticated user's id (from the token, as the server read it). */
  userID;
  /** The user's role (from the token): `"owner"`, `"admin"` or `"audience"`. */
  role;
  /** The connection's state: `"connecting"`, `"connected"`, `"reconnecting"` or `"closed"`. */
  status;
  #actor;
  #rooms = /* @__PURE__ */ new Map();
  #joining = /* @__PURE__ */ new Map();
  constructor(actor) {
    this.#actor = actor;
    this.userID = actor.welcome.userID;
    this.role = actor.welcome.role;
    this.status = actor.status;
  }
  /**
   * Connects to the server at `url` (its base URL, e.g. `ws://127.0.0.1:7700`; the SDK opens
   * `{url}/v1/ws`) with a token, and resolves once the server said `welcome`. With several
   * URLs (servers of one cluster), tries them in order, and on every reconnect tries the last
   * good one first.
   *
   * Rejects with the server's code when the token is refused (`-3010` `UNAUTHENTICATED`,
   * `-3011` `TOKEN_EXPIRED`, ...), `INVALID_URL` (-4107) for a URL that is not `ws://` or
   * `wss://`, or `CONNECT_FAILED` (-4100) when no server can be reached. Later drops are
   * handled by reconnecting.
   */
  static async connect(url, token, options = {}) {
    const urls = typeof url === "string" ? [url] : [...url];
    if (urls.length === 0) throw new CoGuestError(CoGuestError.INVALID_URL, "no server URL given");
    for (const u of urls) wsURL(u, "");
    const actor = await Actor.connect({
      urls,
      token,
      requestTimeoutMs: options.requestTimeoutMs ?? 15e3,
      connectTimeoutMs: options.connectTimeoutMs ?? 1e4,
      backoffInitialMs: options.backoffInitialMs ?? 250,
      backoffMaxMs: Math.max(options.backoffMaxMs ?? 1e4, options.backoffInitialMs ?? 250),
      keepaliveMs: Math.max(options.keepaliveMs ?? 2e4, 100),
      coalesceMs: Math.max(options.coalesceMs ?? 10, 0)
    });
    return new _Client(actor);
  }
  /** Why the client closed, when the server refused its token (`null` while open or after {@link Client.close}). */
  get closeError() {
    return this.#actor.closeError;
  }
  /** Failed reconnect attempts since the connection dropped (0 while connected). */
  get reconnectAttempt() {
    return this.#actor.attempt;
  }
  /** When the current token expires (Unix milliseconds, from its `exp` claim), if it says. */
  get tokenExpiresAt() {
    const exp = readClaims(this.#actor.token)?.exp;
    return typeof exp === "number" ? exp * 1e3 : null;
  }
  /** A round trip to the server (`ping`): resolves once the server answered. */
  async ping() {
    await this.#actor.request(null, { cmd: "ping" });
  }
  /**
   * Presents a new token before the current one expires, so the client is not closed with
   * `-3011` (`TOKEN_EXPIRED`). The open connection takes it at once (`update_token`: the
   * server checks it as at connect and moves the connection's expiry to the new token's), and
   * every later reconnect uses it.
   *
   * The token must be for the same user, role and room limit: otherwise it is refused with
   * `-3014` (`TOKEN_MISMATCH`) and nothing changes (the SDK checks what it can read of the
   * token first, so a wrong one is refused even while disconnected). A token the server refuses
   * (`-3010`, `-3011`, `-3014`) is forgotten and the connection keeps its current one. While
   * disconnected, it resolves once a reconnect with the new token was accepted.
   */
  async updateToken(token) {
    const current = readClaims(this.#actor.token);
    const next = readClaims(token);
    if (next === null) {
      throw new CoGuestError(ErrorCode.UNAUTHENTICATED, "the new token is not a JWT");
    }
    for (const claim of ["sub", "role", "room"]) {
      if (current !== null && current[claim] !== next[claim]) {
        throw new CoGuestError(
          ErrorCode.TOKEN_MISMATCH,
          `the new token's \`${claim}\` (${JSON.stringify(next[claim])}) is not this client's (${JSON.stringify(current[claim])})`
        );
      }
    }
    await this.#actor.updateToken(token);
  }
  /**
   * Closes the connection for good: calls in flight and later calls fail with `CLOSED`
   * (-4101). The server keeps this user's seats and requests for its reconnect grace period,
   * as for any dropped connection; call `leaveRoom()` on stores first to leave cleanly.
   */
  close() {
    this.#actor.close();
  }
  /** @internal Watches the rooms list (see `RoomsObserver`). */
  watchRooms(onRooms) {
    return this.#actor.watchRooms(onRooms);
  }
  /** @internal Stops watching the rooms list. */
  unwatchRooms() {
    return this.#actor.unwatchRooms();
  }
  /**
   * @internal The room `room` joined through this client: the live one if there is one (one
   * store per room per client), else a new join. Concurrent calls for one room share it.
   */
  room(room, observe = false) {
    const mixed = () => Promise.reject(
      new CoGuestError(
        ErrorCode.REQUEST_NO_PERMISSION,
        `room ${JSON.stringify(room)} is ${observe ? "joined" : "observed"} by this client: ${observe ? "observe" : "join"} it from another client`
      )
    );
    const live = this.#rooms.get(room);
    if (live && !live.shared.closed) return live.observe === observe ? Promise.resolve(live) : mixed();
    const joining = this.#joining.get(room);
    if (joining) return joining.then((h2) => h2.observe === observe ? h2 : mixed());
    const shared = new StoreShared(room);
    const p = this.#actor.join(room, shared, observe).then(
      () => {
        this.#joining.delete(room);
        const handle = {
          client: this,
          shared,
          observe,
          call: (command) => {
            if (shared.closedReason !== null) {
              return Promise.reject(new CoGuestError(CoGuestError.ROOM_CLOSED, shared.closedReason));
            }
            return this.#actor.request(room, command);
          },
          leave: () => {
            if (this.#rooms.get(room) === handle) this.#rooms.delete(room);
            return this.#actor.leave(room);
          }
        };
        this.#rooms.set(room, handle);
        return handle;
      },
      (e) => {
        this.#joining.delete(room);
        throw e;
      }
    );
    this.#joining.set(room, p);
    return p;
  }
};

// clients/typescript/src/observer.ts
var RoomObserver = class _RoomObserver {
  /** Every seat, empty ones included, with its occupant, lock and device flags. */
  seatList;
  /** The seated users, in seat order. */
  connected;
  /** The room's seat mode. */
  seatMode;
  /** Pending applications in arrival order, with their ids, seats, deadlines and times made. */
  applications;
  /** Open invitations (one per inviter and invitee), with their inviters and deadlines. */
  invitations;
  /** Members who could be invited (present, not seated, nothing pending), capped by the server. */
  candidates;
  /** The room version the lists above show. */
  version;
  /**
   * The event log: the room's transitions, newest first, at most 200. It starts with what the
   * server kept (the last 200 once the room is observed on that server) and grows live.
   */
  log;
  /** Why the observer ended (the room was closed, or {@link RoomObserver.stop}), or `null`. */
  ended;
  #room;
  constructor(room) {
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
  static async create(client, roomID) {
    return new _RoomObserver(await client.room(roomID, true));
  }
  /** The room id. */
  get roomID() {
    return this.#room.shared.room;
  }
  /** Whether the observer ended (see {@link RoomObserver.ended}). */
  get isClosed() {
    return this.#room.shared.closed;
  }
  /** Adds host-side callbacks: the observer gets the events the hosts get. */
  addHostListener(listener) {
    this.#room.shared.hostListeners.push(listener);
  }
  /** Removes host-side callbacks (one registration per call). */
  removeHostListener(listener) {
    removeOnce(this.#room.shared.hostListeners, listener);
  }
  /** Stops observing (`unobserve`): the lists empty and nothing more arrives. */
  stop() {
    return this.#room.leave();
  }
};
var RoomsObserver = class _RoomsObserver {
  /** Every room, the most recently changed first (rooms whose last change is unknown last, by id). */
  rooms;
  #rooms = new Observable(Object.freeze([]));
  #byID = /* @__PURE__ */ new Map();
  #client;
  constructor(client) {
    this.#client = client;
    this.rooms = this.#rooms;
  }
  /**
   * Watches the rooms list and resolves once the full list arrived. Rejects with `-2301` for a
   * token without `adm` and `-3012` for an admin token limited to a room. One per client.
   */
  static async create(client) {
    const o = new _RoomsObserver(client);
    await client.watchRooms((msg) => o.#apply(msg.full, msg.rooms.map(roomSummary), msg.closed ?? []));
    return o;
  }
  /** Stops watching. */
  stop() {
    return this.#client.unwatchRooms();
  }
  #apply(full, rooms, closed) {
    if (full) {
      const before = this.#byID;
      this.#byID = /* @__PURE__ */ new Map();
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
      (a, b) => (b.lastChangeMs ?? -1) - (a.lastChangeMs ?? -1) || (a.roomID < b.roomID ? -1 : a.roomID > b.roomID ? 1 : 0)
    );
    if (this.#rooms.replace(Object.freeze(list))) this.#rooms.notify();
  }
};

// clients/console/src/session.ts
var STORAGE_KEY = "coguest.console.credential";
var Refusal = class extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  /** `NAME (code): message`, as the console shows it. */
  describe() {
    if (this.code === null) return `HTTP ${this.status}: ${this.message}`;
    return `${codeName(this.code) ?? "error"} (${this.code}): ${this.message}`;
  }
};
function codeName(code) {
  return Object.entries(ErrorCode).find(([, v]) => v === code)?.[0];
}
function refusal(e) {
  if (e instanceof Refusal) return e;
  if (e instanceof CoGuestError) return new Refusal(0, e.code, e.message);
  return new Refusal(0, null, e instanceof Error ? e.message : String(e));
}
var AdminApi = class {
  #credential;
  constructor(credential) {
    this.#credential = credential;
  }
  /** One call: the JSON answer, or a {@link Refusal} with the server's code and message. */
  async call(method, path, body) {
    let res;
    try {
      res = await fetch(path, {
        method,
        headers: {
          Authorization: `Bearer ${this.#credential}`,
          ...body === void 0 ? {} : { "Content-Type": "application/json" }
        },
        ...body === void 0 ? {} : { body: JSON.stringify(body) },
        cache: "no-store"
      });
    } catch (e) {
      throw new Refusal(0, null, `the server could not be reached (${String(e)})`);
    }
    const text = await res.text();
    let json = null;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch {
      json = null;
    }
    if (!res.ok) {
      const b = json ?? {};
      throw new Refusal(
        res.status,
        typeof b.code === "number" ? b.code : null,
        typeof b.message === "string" ? b.message : text || res.statusText
      );
    }
    return json;
  }
  /** A room's path under `/v1/admin/rooms`. */
  static room(room, rest = "") {
    return `/v1/admin/rooms/${encodeURIComponent(room)}${rest}`;
  }
};
var Session = class _Session {
  api;
  client;
  #rooms = null;
  constructor(api, client) {
    this.api = api;
    this.client = client;
  }
  /** The credential this tab signed in with, if any. */
  static saved() {
    try {
      return sessionStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  }
  /**
   * Signs in with the API key or an admin token: the admin API must accept it, then the
   * WebSocket. Kept for this tab only (sessionStorage). Throws a {@link Refusal}.
   */
  static async signIn(credential) {
    const api = new AdminApi(credential);
    try {
      await api.call("GET", "/v1/admin/rooms");
    } catch (e) {
      const r = refusal(e);
      if (r.status === 401) {
        throw new Refusal(401, r.code, `this key or token was refused: ${r.message}`);
      }
      if (r.status === 403) {
        throw new Refusal(403, r.code, `this token is not an admin token (mint one with \`coguest token --admin\`): ${r.message}`);
      }
      throw r;
    }
    const ws = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
    let client;
    try {
      client = await Client.connect(ws, credential);
    } catch (e) {
      throw refusal(e);
    }
    try {
      sessionStorage.setItem(STORAGE_KEY, credential);
    } catch {
    }
    return new _Session(api, client);
  }
  /** The rooms list, watched once per session. */
  rooms() {
    this.#rooms ??= RoomsObserver.create(this.client);
    return this.#rooms;
  }
  /** Forgets the credential and closes the connection. */
  signOut() {
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
    }
    this.client.close();
  }
};

// clients/console/src/room.ts
function roomPage(root, session2, roomID) {
  const api = session2.api;
  const path = (rest = "") => AdminApi.room(roomID, rest);
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
    candidates: h("span", { class: "count" })
  };
  let observer = null;
  let closed = false;
  const act = async (label, call, confirmText) => {
    if (confirmText !== void 0 && !window.confirm(confirmText)) return;
    error.textContent = "";
    notice.textContent = `${label}…`;
    try {
      const answer = await call();
      const v = answer?.version;
      notice.textContent = `${label}: done${v === void 0 ? "" : ` (room version ${v})`}.`;
    } catch (e) {
      notice.textContent = "";
      error.textContent = `${label} refused: ${refusal(e).describe()}`;
    }
  };
  const pick = (user2, seatIndex) => act(
    `Pick ${user2} onto ${seatName(seatIndex)}`,
    () => api.call("POST", path("/seats/pick"), { user_id: user2, seat_index: seatIndex })
  );
  const kick = (user2, seatIndex) => act(
    `Kick ${user2}`,
    () => api.call("POST", path("/seats/kick"), { user_id: user2 }),
    `Kick ${user2} off seat ${seatIndex}?`
  );
  const lock = (seat) => seat.isLocked ? act(`Unlock seat ${seat.seatIndex}`, () => api.call("POST", path(`/seats/${seat.seatIndex}/unlock`))) : act(
    `Lock seat ${seat.seatIndex}`,
    () => api.call("POST", path(`/seats/${seat.seatIndex}/lock`)),
    seat.user ? `Lock seat ${seat.seatIndex}? ${seat.user.userName || seat.user.userID} is removed from it.` : void 0
  );
  const moveUser = h("select", { id: "move-user", required: true });
  const moveSeat = h("select", { id: "move-seat", required: true });
  const movePolicy = h(
    "select",
    { id: "move-policy" },
    h("option", { value: "abort_when_occupied" }, "only to a free seat"),
    h("option", { value: "swap" }, "swap with its occupant"),
    h("option", { value: "force_replace" }, "replace its occupant")
  );
  const moveForm = h(
    "form",
    { "aria-labelledby": "move-title", "data-testid": "move-form" },
    h("h3", { id: "move-title" }, "Move a seated user"),
    field("move-user", "User", moveUser),
    field("move-seat", "To seat", moveSeat),
    field("move-policy", "If occupied", movePolicy),
    h("button", { type: "submit" }, "Move")
  );
  moveForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const user2 = moveUser.value;
    const seatIndex = Number(moveSeat.value);
    const policy = movePolicy.value;
    void act(
      `Move ${user2} to seat ${seatIndex}`,
      () => api.call("POST", path("/seats/move"), { user_id: user2, seat_index: seatIndex, policy }),
      policy === "force_replace" ? `Move ${user2} to seat ${seatIndex}, removing whoever sits there?` : void 0
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
    h("button", { type: "submit" }, "Pick")
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
    h("option", { value: "free_to_take" }, "free to take")
  );
  const settingsForm = h(
    "form",
    { "aria-labelledby": "settings-title", "data-testid": "settings-form" },
    h("h3", { id: "settings-title" }, "Seats"),
    field("seat-count", "Number of seats", seatCount),
    field("seat-mode", "Seat mode", seatMode),
    h("button", { type: "submit" }, "Apply")
  );
  settingsForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const count = Number(seatCount.value);
    const current = observer?.seatList.value.length ?? count;
    void act(
      "Change the seats",
      () => api.call("POST", path("/settings"), { max_seat_count: count, seat_mode: seatMode.value }),
      count < current ? `Remove seats ${count} to ${current - 1}?` : void 0
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
    h("div", { class: "buttons" }, grant, revoke)
  );
  adminForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const admin = e.submitter !== revoke;
    const user2 = adminUser.value.trim();
    void act(
      `${admin ? "Grant" : "Revoke"} admin for ${user2}`,
      () => api.call("POST", path("/admins"), { user_id: user2, admin }),
      admin ? void 0 : `Revoke ${user2}'s admin role?`
    );
  });
  const closeButton = h("button", { type: "button", class: "danger", "data-testid": "close-room" }, "Close the room");
  closeButton.addEventListener("click", () => {
    void act(
      `Close room ${roomID}`,
      () => api.call("DELETE", path()),
      `Close room ${roomID}? Every member is told, pending requests end and the room is deleted.`
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
        meta
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
          candidates
        ),
        h(
          "section",
          { "aria-labelledby": "actions-title", class: "panel actions" },
          h("h2", { id: "actions-title" }, "Actions"),
          pickForm,
          moveForm,
          settingsForm,
          adminForm,
          h("div", { class: "danger-zone" }, h("h3", {}, "Close"), closeButton)
        ),
        h("section", { "aria-labelledby": "log-title", class: "panel log-panel" }, h("h2", { id: "log-title" }, "Event log"), log)
      )
    )
  );
  const drawSeats = (list) => {
    render(
      seats,
      list.map((seat) => {
        const u = seat.user;
        const i = seat.seatIndex;
        const flags = [];
        if (seat.isLocked) flags.push("locked");
        if (u) flags.push(u.microphoneOn ? "mic on" : "mic off", u.cameraOn ? "camera on" : "camera off");
        if (seat.seatMicrophoneDisallowed || seat.userMicrophoneDisallowed) flags.push("mic not allowed");
        if (seat.seatCameraDisallowed || seat.userCameraDisallowed) flags.push("camera not allowed");
        const label = `Seat ${i}: ${u ? `${u.userName || u.userID} (${u.role})` : "empty"}${flags.length ? `, ${flags.join(", ")}` : ""}`;
        return h(
          "li",
          { class: `seat${u ? " taken" : ""}${seat.isLocked ? " locked" : ""}`, "data-testid": `seat-${i}`, "aria-label": label },
          h("div", { class: "seat-head" }, h("span", { class: "seat-no" }, `Seat ${i}`), seat.isLocked ? h("span", { class: "badge lock" }, "locked") : null),
          u ? h(
            "div",
            { class: "occupant" },
            avatar(u.userName || u.userID, u.avatarURL),
            h("div", {}, h("div", { class: "name" }, u.userName || u.userID), h("div", { class: "muted mono small" }, `${u.userID} · ${u.role}`))
          ) : h("div", { class: "occupant empty muted" }, "empty"),
          h(
            "div",
            { class: "devices small" },
            u ? h("span", { class: u.microphoneOn ? "on" : "off" }, u.microphoneOn ? "mic on" : "mic off") : null,
            u ? h("span", { class: u.cameraOn ? "on" : "off" }, u.cameraOn ? "cam on" : "cam off") : null,
            seat.seatMicrophoneDisallowed || seat.userMicrophoneDisallowed ? h("span", { class: "off" }, "mic blocked") : null,
            seat.seatCameraDisallowed || seat.userCameraDisallowed ? h("span", { class: "off" }, "cam blocked") : null
          ),
          h(
            "div",
            { class: "buttons" },
            u ? h(
              "button",
              {
                type: "button",
                "data-key": `kick-${u.userID}`,
                "data-testid": `kick-${u.userID}`,
                "aria-label": `Kick ${u.userName || u.userID} off seat ${i}`,
                onclick: () => void kick(u.userID, i)
              },
              "Kick"
            ) : null,
            h(
              "button",
              {
                type: "button",
                "data-key": `lock-${i}`,
                "data-testid": `${seat.isLocked ? "unlock" : "lock"}-${i}`,
                "aria-label": `${seat.isLocked ? "Unlock" : "Lock"} seat ${i}`,
                onclick: () => void lock(seat)
              },
              seat.isLocked ? "Unlock" : "Lock"
            )
          )
        );
      })
    );
    setOptions(
      moveUser,
      list.flatMap((s) => s.user ? [[s.user.userID, `${s.user.userName || s.user.userID} (seat ${s.seatIndex})`]] : [])
    );
    setOptions(moveSeat, list.map((s) => [String(s.seatIndex), seatLabel(s)]));
    setOptions(pickSeat, [["-1", "any free seat"], ...list.map((s) => [String(s.seatIndex), seatLabel(s)])]);
    if (document.activeElement !== seatCount) seatCount.value = String(list.length);
  };
  const drawRequests = () => {
    if (!observer) return;
    const now2 = Date.now();
    const apps = observer.applications.value;
    const invs = observer.invitations.value;
    const cands = observer.candidates.value;
    counts.applications.textContent = `(${apps.length})`;
    counts.invitations.textContent = `(${invs.length})`;
    counts.candidates.textContent = `(${cands.length})`;
    render(
      applications,
      apps.length === 0 ? h("li", { class: "muted" }, "No pending application.") : apps.map((a) => applicationRow(a, now2))
    );
    render(
      invitations,
      invs.length === 0 ? h("li", { class: "muted" }, "No open invitation.") : invs.map((i) => invitationRow(i, now2))
    );
    render(
      candidates,
      cands.length === 0 ? h("li", { class: "muted" }, "Nobody else in the room.") : cands.map((c) => candidateRow(c))
    );
    render(
      pickUsers,
      [...apps.map((a) => a.user), ...cands].map((u) => h("option", { value: u.userID }, u.userName || u.userID))
    );
  };
  const applicationRow = (a, now2) => {
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
          { "data-testid": `waited-${a.user.userID}`, ...a.requestedMs === null ? {} : { title: `applied at ${stamp(a.requestedMs)}` } },
          a.requestedMs === null ? "waiting" : `waited ${duration(now2 - a.requestedMs)}`
        ),
        h(
          "span",
          { class: a.deadlineMs - now2 < 1e4 ? "attention" : "", "data-testid": `left-${a.user.userID}`, title: `expires at ${stamp(a.deadlineMs)}` },
          `${duration(a.deadlineMs - now2)} left`
        ),
        a.extraInfo ? h("span", { class: "extra" }, `“${a.extraInfo}”`) : null
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
            onclick: () => void pick(a.user.userID, a.seatIndex)
          },
          "Accept"
        )
      )
    );
  };
  const invitationRow = (i, now2) => h(
    "li",
    { "data-testid": `invitation-${i.user.userID}` },
    person(i.user),
    h(
      "div",
      { class: "details small" },
      h("span", {}, `invited by ${i.inviterID}`),
      h("span", {}, seatName(i.seatIndex)),
      h("span", { title: `expires at ${stamp(i.deadlineMs)}` }, `${duration(i.deadlineMs - now2)} left`)
    )
  );
  const candidateRow = (c) => h(
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
          onclick: () => void pick(c.userID, -1)
        },
        "Pick"
      )
    )
  );
  const drawLog = (entries) => {
    render(
      log,
      entries.length === 0 ? h("li", { class: "muted" }, "Nothing yet: transitions appear here as they happen.") : entries.map(
        (e) => h(
          "li",
          { "data-type": e.type },
          h("time", { datetime: new Date(e.atMs).toISOString(), title: stamp(e.atMs) }, clock(e.atMs)),
          h("span", { class: "what" }, e.type.replace(/_/g, " ")),
          h("span", { class: "who" }, e.actor === null ? "deadline" : e.actor === "@operator" ? "by admin API" : `by ${e.actor}`),
          h("span", { class: "data muted mono" }, describe(e.data))
        )
      )
    );
  };
  const drawMeta = () => {
    if (!observer) return;
    const list = observer.seatList.value;
    const taken = list.filter((s) => s.user).length;
    const mode = observer.seatMode.value;
    meta.textContent = closed ? "This room was closed." : `${taken} of ${list.length} seats taken · ${mode === "freeToTake" ? "free to take" : "apply to take"} · version ${observer.version.value}`;
    if (document.activeElement !== seatMode) seatMode.value = mode === "freeToTake" ? "free_to_take" : "apply_to_take";
  };
  let offs = [];
  let stopped = false;
  RoomObserver.create(session2.client, roomID).then(
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
          root.querySelectorAll(".room button").forEach((b) => b.disabled = true);
          notice.textContent = `This room was closed.`;
        })
      ];
      drawSeats(o.seatList.value);
      drawRequests();
      drawLog(o.log.value);
      drawMeta();
    },
    (e) => {
      meta.textContent = "";
      error.textContent = `Room ${roomID} cannot be shown: ${refusal(e).describe()}`;
    }
  );
  const tick = setInterval(drawRequests, 1e3);
  return () => {
    stopped = true;
    clearInterval(tick);
    for (const off of offs) off();
    if (observer && !observer.isClosed) void observer.stop();
  };
}
function field(id, label, control) {
  return h("div", { class: "field" }, h("label", { for: id }, label), control);
}
function person(u) {
  return h(
    "div",
    { class: "person" },
    avatar(u.userName || u.userID, u.avatarURL),
    h("div", {}, h("div", { class: "name" }, u.userName || u.userID), h("div", { class: "muted mono small" }, u.userID))
  );
}
function seatName(seatIndex) {
  return seatIndex < 0 ? "any seat" : `seat ${seatIndex}`;
}
function seatLabel(s) {
  const who = s.user ? s.user.userName || s.user.userID : s.isLocked ? "locked" : "empty";
  return `${s.seatIndex} (${who})`;
}
function describe(data) {
  return Object.entries(data).filter(([, v]) => v !== null && v !== void 0).map(([k, v]) => `${k} ${typeof v === "string" ? v : JSON.stringify(v)}`).join(" · ");
}
function setOptions(select, options) {
  const value = select.value;
  const same = select.options.length === options.length && options.every(([v, l], i) => select.options[i]?.value === v && select.options[i]?.text === l);
  if (same) return;
  select.replaceChildren(...options.map(([v, l]) => h("option", { value: v }, l)));
  if (options.some(([v]) => v === value)) select.value = value;
}

// clients/console/src/rooms.ts
function roomsPage(root, session2) {
  const filter = h("input", {
    id: "room-filter",
    type: "search",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "room id",
    "data-testid": "room-filter"
  });
  const count = h("p", { class: "muted", "aria-live": "polite", "data-testid": "room-count" });
  const body = h("tbody", { "data-testid": "rooms" });
  const error = h("p", { role: "alert", class: "error" });
  render(
    root,
    h(
      "section",
      { "aria-labelledby": "rooms-title" },
      h("div", { class: "page-head" }, h("h1", { id: "rooms-title" }, "Rooms"), count),
      h("div", { class: "field" }, h("label", { for: "room-filter" }, "Filter by room id"), filter),
      error,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "rooms" },
          h("caption", { class: "visually-hidden" }, "Rooms, most recently changed first"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", { scope: "col" }, "Room"),
              h("th", { scope: "col" }, "Seated"),
              h("th", { scope: "col" }, "Members"),
              h("th", { scope: "col" }, "Applications"),
              h("th", { scope: "col" }, "Invitations"),
              h("th", { scope: "col" }, "Mode"),
              h("th", { scope: "col" }, "Last change")
            )
          ),
          body
        )
      )
    )
  );
  let rooms = [];
  let loaded = false;
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = rooms.filter((r) => r.roomID.toLowerCase().includes(q));
    count.textContent = loaded ? `${rooms.length} ${rooms.length === 1 ? "room" : "rooms"}${q ? `, ${shown.length} shown` : ""}` : "Loading…";
    if (loaded && shown.length === 0) {
      const why = rooms.length === 0 ? "No rooms yet. A room appears here when a client joins it or your backend creates it (POST /v1/admin/rooms)." : "No room matches the filter.";
      render(body, h("tr", {}, h("td", { colspan: 7, class: "muted" }, why)));
      return;
    }
    const now2 = Date.now();
    render(
      body,
      shown.map(
        (r) => h(
          "tr",
          { "data-testid": `room-${r.roomID}` },
          h("th", { scope: "row" }, h("a", { href: `#/room/${encodeURIComponent(r.roomID)}`, "data-key": `room-${r.roomID}` }, r.roomID)),
          h("td", {}, `${r.seated} / ${r.seatCount}`),
          h("td", {}, r.members),
          h("td", { class: r.applications > 0 ? "attention" : "" }, r.applications),
          h("td", {}, r.invitations),
          h("td", {}, r.seatMode === "freeToTake" ? "free to take" : "apply to take"),
          h(
            "td",
            r.lastChangeMs === null ? {} : { title: stamp(r.lastChangeMs) },
            r.lastChangeMs === null ? "—" : `${duration(now2 - r.lastChangeMs)} ago`
          )
        )
      )
    );
  };
  filter.addEventListener("input", draw);
  draw();
  let stopped = false;
  let off = null;
  session2.rooms().then(
    (observer) => {
      if (stopped) return;
      loaded = true;
      rooms = observer.rooms.value;
      off = observer.rooms.subscribe((list) => {
        rooms = list;
        draw();
      });
      draw();
    },
    (e) => {
      loaded = true;
      error.textContent = `The rooms list is not available: ${refusal(e).describe()}`;
      draw();
    }
  );
  const tick = setInterval(draw, 1e3);
  return () => {
    stopped = true;
    off?.();
    clearInterval(tick);
  };
}

// clients/console/src/main.ts
var main = document.getElementById("main");
var header = document.getElementById("header");
var session = null;
var stopPage = null;
function showSignIn(problem) {
  stopPage?.();
  stopPage = null;
  render(header, h("span", { class: "brand" }, "coguest console"));
  const input = h("input", {
    id: "credential",
    name: "credential",
    type: "password",
    required: true,
    autocomplete: "current-password",
    spellcheck: "false",
    "aria-describedby": "credential-help",
    "data-testid": "credential"
  });
  const error = h("p", { role: "alert", class: "error", id: "signin-error", "data-testid": "signin-error" }, problem ?? "");
  const button = h("button", { type: "submit", "data-testid": "sign-in" }, "Sign in");
  const form = h(
    "form",
    { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h("div", { class: "field" }, h("label", { for: "credential" }, "API key or admin token"), input),
    h(
      "p",
      { id: "credential-help", class: "muted small" },
      "The server's API key (serve --api-key) or a token minted with `coguest token --admin`. ",
      "It is kept for this tab only."
    ),
    error,
    button
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const credential = input.value.trim();
    button.disabled = true;
    error.textContent = "";
    Session.signIn(credential).then(
      (s) => {
        session = s;
        signedIn();
      },
      (err) => {
        button.disabled = false;
        error.textContent = describeSignIn(err);
        input.focus();
        input.select();
      }
    );
  });
  render(main, form);
  input.focus();
}
function describeSignIn(e) {
  const r = e instanceof Refusal ? e : refusal(e);
  return `Sign-in refused: ${r.describe()}`;
}
function signedIn() {
  const s = session;
  if (!s) return;
  const status = h("span", { class: "status", role: "status", "data-testid": "status" });
  const showStatus = (v) => {
    status.textContent = v;
    status.dataset.state = v;
  };
  showStatus(s.client.status.value);
  s.client.status.subscribe(showStatus);
  const signOut = h("button", { type: "button", class: "link", "data-testid": "sign-out" }, "Sign out");
  signOut.addEventListener("click", () => {
    s.signOut();
    session = null;
    location.hash = "";
    showSignIn(null);
  });
  render(
    header,
    h("a", { class: "brand", href: "#/rooms" }, "coguest console"),
    h("nav", { "aria-label": "Main" }, h("a", { href: "#/rooms" }, "Rooms")),
    h("span", { class: "who muted small" }, `as ${s.client.userID}`),
    status,
    signOut
  );
  route();
}
function route() {
  const s = session;
  if (!s) return;
  stopPage?.();
  const m = /^#\/room\/(.+)$/.exec(location.hash);
  if (m?.[1] !== void 0) {
    const room = decodeURIComponent(m[1]);
    document.title = `${room} · coguest console`;
    stopPage = roomPage(main, s, room);
  } else {
    document.title = "Rooms · coguest console";
    stopPage = roomsPage(main, s);
  }
  main.focus();
}
window.addEventListener("hashchange", route);
var saved = Session.saved();
if (saved === null) {
  showSignIn(null);
} else {
  render(main, h("p", { class: "muted" }, "Signing in…"));
  Session.signIn(saved).then(
    (s) => {
      session = s;
      signedIn();
    },
    (e) => showSignIn(describeSignIn(e))
  );
}
document.querySelector("a.skip")?.addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});
