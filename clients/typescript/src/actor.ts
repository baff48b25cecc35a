/**
 * The connection actor: one per {@link Client}, owning the WebSocket, every room's reducer and
 * every request in flight.
 *
 * JavaScript runs one thing at a time, so the actor is an object whose methods each do one
 * whole turn (a call from a handle, a frame from the server, a deadline, a keep-alive tick, a
 * finished connection attempt) and never wait in the middle of one.
 *
 * Reconnecting: when the connection drops (anything but close code 4001) the actor waits an
 * exponential backoff with jitter, tries every URL in turn starting with the last good one,
 * then re-joins every room with `since` = the reducer's resume point, and re-sends every
 * request still waiting for its answer *with the same request id*, which the server answers
 * at most once. Frames go out in their original order: a `leave` queued for a store that is
 * gone reaches the server before the join of a store of the same room created since (see
 * `#connected`). A request whose deadline passes fails with `TIMEOUT` if it was never written
 * (so it cannot have been applied), or `OUTCOME_UNKNOWN` if it was.
 *
 * Keep-alive: browsers cannot send WebSocket pings, so the actor sends protocol `ping`
 * commands every `keepaliveMs` (20 s by default, a third of the server's idle timeout) in
 * every runtime, and takes a connection it has heard nothing from for three intervals as dead.
 *
 * The handshake up to `welcome` is `connection.ts`. Mirrors `crates/coguest-client/src/actor.rs`.
 * @module
 */

import { CoGuestError, closedError, isAuthCode } from "./error.js";
import { Observable } from "./observable.js";
import type { StoreShared } from "./shared.js";
import { ClientState, logEntry } from "./state.js";
import {
  CLOSE_UNAUTHORIZED,
  ConnectError,
  connectAny,
  now,
  parseServerMsg,
  type Config,
  type Greeted,
  type Welcome,
} from "./connection.js";
import type { Socket } from "./transport.js";
import type * as wire from "./wire.js";


/**
 * The state of a client's connection ({@link Client.status}):
 * - `"connecting"`: the first connection is being made (inside `Client.connect`);
 * - `"connected"`: connected and authenticated; rooms are (being) re-joined;
 * - `"reconnecting"`: the connection dropped; the client waits (backoff) and tries again. Calls
 *   made now are queued and sent once connected, or fail at their deadline;
 * - `"closed"`: for good: `client.close()`, or the token was refused (`client.closeError` says why).
 */
export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "closed";

/** @internal What a successful command returned. */
export interface Acked {
  /** Id of the application or invitation created, if any. */
  requestID: number | null;
}

interface Reply<T> {
  resolve(value: T): void;
  reject(error: CoGuestError): void;
}

/** A command's frame without its id and room. */
export type Command = wire.ClientCommand;

/** @internal A `rooms` message (the rooms list, or what changed in it). */
export type RoomsMsg = Extract<wire.ServerMsg, { t: "rooms" }>;

interface Room {
  state: ClientState;
  shared: StoreShared;
  /** Observed (`observe`, a service admin's watch) rather than joined. */
  observe: boolean;
  /** The `create` call waiting for the first join, with its deadline. */
  firstJoin: { reply: Reply<void>; deadline: number } | null;
  /** A join frame went out for the current first join. */
  joinSent: boolean;
  /** Publishes changes whose version end has not been seen yet (see `ClientState.publishAfter`). */
  publishTimer: ReturnType<typeof setTimeout> | null;
}

interface Pending {
  frame: wire.ClientFrame;
  reply: Reply<Acked> | null;
  deadline: number;
  /** Written to a connection at least once: the server may have applied it. */
  sent: boolean;
}

interface Conn {
  socket: Socket;
  lastHeard: number;
  keepalive: ReturnType<typeof setInterval>;
}

/** @internal The connection actor. */
export class Actor {
  readonly status = new Observable<ConnectionStatus>("connecting");
  /** Why the client stopped, when the server refused its token. */
  closeError: CoGuestError | null = null;
  /** Failed reconnect attempts since the connection dropped. */
  attempt = 0;
  readonly welcome: Welcome;

  #cfg: Config;
  #nextId = firstRequestID();
  #rooms = new Map<string, Room>();
  /** Requests by id; ids only grow, so this map's order is the sending order. */
  #pending = new Map<number, Pending>();
  /** Join frames in flight on this connection: request id → room. */
  #joins = new Map<number, string>();
  #conn: Conn | null = null;
  #stopped: CoGuestError | null = null;
  /** The last token refusal the server explained, reported when it then closes with 4001. */
  #authError: CoGuestError | null = null;
  #urlIdx: number;
  #deadlineTimer: ReturnType<typeof setTimeout> | null = null;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #connecting = false;
  /** The rooms list's handler, while watched (`observe_rooms`, sent again on every reconnect). */
  #roomsFeed: ((msg: RoomsMsg) => void) | null = null;

  private constructor(cfg: Config, greeted: Greeted, urlIdx: number) {
    this.#cfg = cfg;
    this.welcome = greeted.welcome;
    this.#urlIdx = urlIdx;
    this.#connected(greeted);
  }

  /** Connects once (every URL in turn); the actor, running, once the server said `welcome`. */
  static async connect(cfg: Config): Promise<Actor> {
    try {
      const [greeted, idx] = await connectAny(cfg, 0);
      return new Actor(cfg, greeted, idx);
    } catch (e) {
      throw e instanceof ConnectError ? e.error : e;
    }
  }

  /** The token used for the next connection. */
  get token(): string {
    return this.#cfg.token;
  }

  /** Sends one command and resolves with its answer. */
  request(room: string | null, command: Command): Promise<Acked> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    return new Promise<Acked>((resolve, reject) => {
      const id = this.#freshID();
      const frame: wire.ClientFrame = room === null ? { id, ...command } : { id, room, ...command };
      const sent = this.#send(frame);
      this.#pending.set(id, { frame, reply: { resolve, reject }, deadline: now() + this.#cfg.requestTimeoutMs, sent });
      this.#armDeadline();
    });
  }

  /**
   * Joins `room` (or, with `observe`, observes it), feeding `shared`; resolves once the
   * snapshot and the ack arrived.
   */
  join(room: string, shared: StoreShared, observe = false): Promise<void> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    if (this.#rooms.has(room)) {
      return Promise.reject(
        new CoGuestError(-2312, `room ${JSON.stringify(room)} is already joined by this client`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#rooms.set(room, {
        state: new ClientState(room),
        shared,
        observe,
        firstJoin: { reply: { resolve, reject }, deadline: now() + this.#cfg.requestTimeoutMs },
        joinSent: false,
        publishTimer: null,
      });
      if (this.#conn) this.#sendJoin(room);
      this.#armDeadline();
    });
  }

  /**
   * The store of `room` goes: its lists empty, its callbacks stop, and a `leave` is sent (after
   * a reconnect if need be). Resolves once the server answered it, either way.
   */
  leave(room: string): Promise<void> {
    const r = this.#rooms.get(room);
    if (!r) return Promise.resolve();
    this.#dropRoom(room, r);
    r.shared.markClosed(`this client left room ${JSON.stringify(room)}`);
    return new Promise<void>((resolve, reject) => {
      this.#queueLeave(room, r.observe, {
        resolve: () => resolve(),
        // A refusal means the connection is not a member: the store is out either way.
        reject: (e) => (isServerCode(e.code) ? resolve() : reject(e)),
      });
      this.#armDeadline();
    });
  }

  /**
   * Presents a new token: used for every later connection, and sent to the open one
   * (`update_token`). A token the server refuses is forgotten (if no newer one was given since).
   */
  async updateToken(token: string): Promise<void> {
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
  close(): void {
    if (this.#stopped) return;
    const err = closedError();
    this.#stopped = err;
    this.#conn?.socket.close(1000);
    this.#teardown(err);
  }

  // --- Turns -------------------------------------------------------------------------------

  #freshID(): number {
    return this.#nextId++;
  }

  #send(frame: wire.ClientFrame): boolean {
    return this.#conn?.socket.send(JSON.stringify(frame)) ?? false;
  }

  /**
   * Watches the rooms list: `onRooms` gets every `rooms` message, the full list first and
   * again after each reconnect. Resolves once the server accepted.
   */
  async watchRooms(onRooms: (msg: RoomsMsg) => void): Promise<void> {
    this.#roomsFeed = onRooms;
    try {
      await this.request(null, { cmd: "observe_rooms" });
    } catch (e) {
      if (this.#roomsFeed === onRooms) this.#roomsFeed = null;
      throw e;
    }
  }

  /** Stops watching the rooms list. */
  async unwatchRooms(): Promise<void> {
    if (this.#roomsFeed === null) return;
    this.#roomsFeed = null;
    if (this.#stopped) return;
    await this.request(null, { cmd: "unobserve_rooms" }).catch(() => undefined);
  }

  /** Sends `leave` (`unobserve` for an observed room) like any request (re-sent after a reconnect). */
  #queueLeave(room: string, observe: boolean, reply: Reply<Acked> | null): void {
    if (this.#stopped) {
      reply?.resolve({ requestID: null });
      return;
    }
    const id = this.#freshID();
    const frame: wire.ClientFrame = observe ? { id, room, cmd: "unobserve" } : { id, room, cmd: "leave" };
    const sent = this.#send(frame);
    this.#pending.set(id, { frame, reply, deadline: now() + this.#cfg.requestTimeoutMs, sent });
  }

  /** Sends a join for `room`, resuming from its reducer's position. */
  #sendJoin(room: string): void {
    const r = this.#rooms.get(room);
    if (!r) return;
    const id = this.#freshID();
    const since = r.state.resumeFrom();
    if (r.firstJoin) r.joinSent = true;
    const cmd = r.observe ? "observe" : "join";
    const frame: wire.ClientFrame = since === null ? { id, room, cmd } : { id, room, cmd, since };
    if (this.#send(frame)) this.#joins.set(id, room);
  }

  /**
   * Joins `room` on this connection for the frames of a store of it that is gone, before the
   * live store of the same room joins (see `#connected`). Nobody waits for the answer. The live
   * store is still waiting for its first join, so nothing it received is kept: its own join
   * then asks for a fresh snapshot.
   */
  #sendJoinForOldStore(room: string, observe: boolean): void {
    const id = this.#freshID();
    const r = this.#rooms.get(room);
    if (r?.firstJoin) r.state = new ClientState(room);
    this.#send(observe ? { id, room, cmd: "observe" } : { id, room, cmd: "join" });
  }

  #connected(greeted: Greeted): void {
    const conn: Conn = {
      socket: greeted.socket,
      lastHeard: now(),
      keepalive: setInterval(() => this.#keepalive(), this.#cfg.keepaliveMs),
    };
    this.#conn = conn;
    this.attempt = 0;
    this.status.replace("connected");
    this.status.notify();
    // Re-send what is still unanswered, in the original order and with the same ids, each
    // room joined before its frames (the server takes a room's commands only from a
    // connection that joined it).
    //
    // A pending `leave` belongs to a store that is gone. If this client has a live store of
    // that room again, that store was created after the `leave` and is still waiting for its
    // first join: the `leave` must reach the server before that join, or the server applies
    // it to the new store's membership and the new store is silently out of the room. So such
    // a room is joined once for the old store (its answer and room state are ignored: the
    // live store's own join, sent after the `leave`, brings a fresh snapshot), then the `leave`
    // and the old store's other frames go out, then the live store's join.
    const lastLeave = new Map<string, number>();
    for (const [id, p] of this.#pending) {
      if ((p.frame.cmd === "leave" || p.frame.cmd === "unobserve") && typeof p.frame.room === "string") {
        lastLeave.set(p.frame.room, id);
      }
    }
    const frames = [...this.#pending.values()].map((p) => p.frame);
    const oldJoined = new Set<string>();
    const joined = new Set<string>();
    for (const frame of frames) {
      const room = frame.room;
      if (typeof room === "string" && this.#rooms.has(room) && !joined.has(room)) {
        const leave = lastLeave.get(room);
        const oldStore = leave !== undefined && frame.id <= leave;
        if (!oldStore) {
          this.#sendJoin(room);
          joined.add(room);
        } else if (!oldJoined.has(room)) {
          oldJoined.add(room);
          const old = leave === undefined ? undefined : this.#pending.get(leave);
          this.#sendJoinForOldStore(room, old?.frame.cmd === "unobserve");
        }
      }
      if (this.#send(frame)) {
        const p = this.#pending.get(frame.id);
        if (p) p.sent = true;
      }
    }
    for (const room of [...this.#rooms.keys()]) if (!joined.has(room)) this.#sendJoin(room);
    // The rooms list is watched again (its full list replaces what the client had), unless
    // the first request for it is still waiting (re-sent above).
    const watching = [...this.#pending.values()].some((p) => p.frame.cmd === "observe_rooms");
    if (this.#roomsFeed !== null && !watching) this.#send({ id: this.#freshID(), cmd: "observe_rooms" });
    // Listening last: what arrived meanwhile is handled after the re-sends went out.
    greeted.start(
      (text) => {
        if (this.#conn === conn) this.#onText(conn, text);
      },
      (code, reason) => {
        if (this.#conn === conn) this.#onClose(code, reason);
      },
    );
  }

  #disconnected(): void {
    const conn = this.#conn;
    if (!conn) return;
    this.#conn = null;
    clearInterval(conn.keepalive);
    this.#joins.clear();
    // A version cut by the drop must not be published half: the resume completes it.
    for (const r of this.#rooms.values()) this.#cancelPublish(r);
    if (!this.#stopped) {
      this.status.replace("reconnecting");
      this.status.notify();
      this.#scheduleReconnect();
    }
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#conn || this.#reconnectTimer !== null || this.#connecting) return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#connecting = true;
      connectAny(this.#cfg, this.#urlIdx).then(
        ([greeted, idx]) => {
          this.#connecting = false;
          if (this.#stopped) {
            greeted.socket.close(1000);
            return;
          }
          if (greeted.welcome.userID !== this.welcome.userID) {
            greeted.socket.close(1000);
            this.#stop(
              new CoGuestError(
                CoGuestError.PROTOCOL,
                `reconnected as ${JSON.stringify(greeted.welcome.userID)}, not ${JSON.stringify(this.welcome.userID)}`,
              ),
            );
            return;
          }
          this.#urlIdx = idx;
          this.#connected(greeted);
          this.#armDeadline();
        },
        (e: unknown) => {
          this.#connecting = false;
          if (this.#stopped) return;
          if (e instanceof ConnectError && e.unauthorized) {
            this.#stop(e.error);
            return;
          }
          this.attempt += 1;
          this.#scheduleReconnect();
        },
      );
    }, backoff(this.#cfg, this.attempt));
  }

  /** The token was refused: fail everything, stop reconnecting. */
  #stop(err: CoGuestError): void {
    if (this.#stopped) return;
    this.#stopped = err;
    this.closeError = err;
    this.#conn?.socket.close();
    this.#teardown(err);
  }

  /** Fails every call and first join with `err`, stops every timer, and says `closed`. */
  #teardown(err: CoGuestError): void {
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

  #armDeadline(): void {
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

  #expire(): void {
    const t = now();
    for (const [id, p] of [...this.#pending]) {
      if (p.deadline > t) continue;
      this.#pending.delete(id);
      const kind = p.frame.cmd;
      p.reply?.reject(
        p.sent
          ? new CoGuestError(
              CoGuestError.OUTCOME_UNKNOWN,
              `\`${kind}\` was sent but not answered in time; it may have been applied`,
            )
          : new CoGuestError(
              CoGuestError.TIMEOUT,
              `\`${kind}\` could not be sent in time (not connected); it was not applied`,
            ),
      );
    }
    for (const [room, r] of [...this.#rooms]) {
      if (!r.firstJoin || r.firstJoin.deadline > t) continue;
      const first = r.firstJoin;
      r.firstJoin = null;
      this.#dropRoom(room, r);
      r.shared.markClosed(`joining room ${JSON.stringify(room)} timed out`);
      first.reply.reject(new CoGuestError(CoGuestError.TIMEOUT, `joining room ${JSON.stringify(room)} timed out`));
      // The server may have let us in: leave, so we do not linger as a member.
      if (r.joinSent) this.#queueLeave(room, r.observe, null);
    }
    this.#armDeadline();
  }

  #keepalive(): void {
    const conn = this.#conn;
    if (!conn) return;
    if (now() - conn.lastHeard >= this.#cfg.keepaliveMs * 3) {
      // No traffic from the server: take the connection for dead.
      conn.socket.close();
      this.#disconnected();
      return;
    }
    // A protocol ping (browsers cannot send WebSocket pings); its ack counts as traffic.
    this.#send({ id: this.#freshID(), cmd: "ping" });
  }

  #onClose(code: number, reason: string): void {
    if (code === CLOSE_UNAUTHORIZED) {
      const err =
        this.#authError ??
        new CoGuestError(CoGuestError.UNAUTHORIZED, `the server refused the token${reason ? `: ${reason}` : ""}`);
      this.#authError = null;
      this.#stop(err);
    } else {
      this.#disconnected();
    }
  }

  #onText(conn: Conn, text: string): void {
    conn.lastHeard = now();
    const msg = parseServerMsg(text);
    if (msg) this.#handleServer(msg);
    this.#armDeadline();
  }

  #handleServer(msg: wire.ServerMsg): void {
    switch (msg.t) {
      case "ack": {
        const room = this.#joins.get(msg.id);
        if (room !== undefined) {
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
        if (!p) return; // A keep-alive ping, or the join of a store that is gone.
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
          appCode: msg.app_code ?? undefined,
          reason: msg.reason ?? undefined,
        });
        if (isAuthCode(msg.code)) this.#authError = err;
        if (msg.id === undefined || msg.id === null) return;
        const room = this.#joins.get(msg.id);
        if (room !== undefined) {
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
        // A version's log lines follow its changes and events: its lists are whole.
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
        // Views first: a callback always sees the lists of its version.
        r.shared.dispatch(events);
        return;
      }
    }
  }

  #joinFailed(room: string, err: CoGuestError): void {
    const r = this.#rooms.get(room);
    if (!r) return;
    this.#dropRoom(room, r);
    const first = r.firstJoin;
    r.firstJoin = null;
    if (first) {
      r.shared.markClosed(`joining room ${JSON.stringify(room)} failed: ${err.message}`);
      first.reply.reject(err);
    } else {
      // A re-join after a reconnect was refused (room closed, ...): the store is out.
      r.shared.markClosed(`re-joining room ${JSON.stringify(room)} failed: ${err.message}`);
    }
  }

  /** Forgets `room`: no more messages reach its store. */
  #dropRoom(room: string, r: Room): void {
    this.#cancelPublish(r);
    this.#rooms.delete(room);
    for (const [id, j] of [...this.#joins]) if (j === room) this.#joins.delete(id);
  }

  #publish(r: Room): void {
    this.#cancelPublish(r);
    if (!r.state.dirty) return;
    const observed = r.observe ? r.state.observerViews() : null;
    r.shared.setViews(r.state.takeViews(), observed);
  }

  #publishSoon(r: Room): void {
    if (r.publishTimer !== null) return;
    r.publishTimer = setTimeout(() => {
      r.publishTimer = null;
      if (this.#conn && this.#rooms.get(r.state.room) === r) this.#publish(r);
    }, this.#cfg.coalesceMs);
  }

  #cancelPublish(r: Room): void {
    if (r.publishTimer !== null) clearTimeout(r.publishTimer);
    r.publishTimer = null;
  }
}

/** Whether a code is the server's (not one of the SDK's own, -4100 and below). */
function isServerCode(code: number): boolean {
  return code > -4000;
}

/**
 * Request ids must be unique per user and room across clients too: the server remembers the
 * answers to a user's recent ids, so a second client of the same user reusing one would get
 * the first client's answer. Each client therefore starts its counter at a random point below
 * 2^52 (exact in JSON everywhere).
 */
function firstRequestID(): number {
  return 1 + Math.floor(Math.random() * (2 ** 52 - 2 ** 32));
}

/** @internal The wait before reconnect attempt `attempt`: exponential, capped, with equal jitter. */
export function backoff(cfg: Pick<Config, "backoffInitialMs" | "backoffMaxMs">, attempt: number): number {
  const exp = cfg.backoffInitialMs * 2 ** Math.min(attempt, 16);
  const cap = Math.min(exp, cfg.backoffMaxMs);
  // Equal jitter: between half and all of the capped delay.
  return cap * (0.5 + Math.random() / 2);
}
