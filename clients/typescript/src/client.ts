/**
 * {@link Client}: one authenticated connection to a coguest server (or a cluster of them).
 *
 * Mirrors `crates/coguest-client/src/client.rs`.
 * @module
 */

import { Actor, type Acked, type Command, type ConnectionStatus, type RoomsMsg } from "./actor.js";
import { CoGuestError, ErrorCode } from "./error.js";
import type { ReadonlyObservable } from "./observable.js";
import { StoreShared } from "./shared.js";
import { wsURL } from "./transport.js";
import type { Role } from "./types.js";

/** Settings of a {@link Client}; every field is optional. Durations are in milliseconds. */
export interface ClientOptions {
  /**
   * How long a call waits for its answer, reconnects included (default 15 000). A call not
   * sent by then fails with `TIMEOUT`; one sent but unanswered with `OUTCOME_UNKNOWN`.
   */
  readonly requestTimeoutMs?: number;
  /** How long one connection attempt (WebSocket handshake and `welcome`) may take (default 10 000). */
  readonly connectTimeoutMs?: number;
  /**
   * Reconnect backoff: the first retry waits about `backoffInitialMs` (default 250), each
   * failure doubles it up to `backoffMaxMs` (default 10 000), and each wait is randomly
   * between half and all of that.
   */
  readonly backoffInitialMs?: number;
  /** See {@link ClientOptions.backoffInitialMs}. */
  readonly backoffMaxMs?: number;
  /**
   * Interval of the protocol `ping`s that keep the connection alive (default 20 000; at least
   * 100). Keep it well under the server's idle timeout (`--idle-timeout-secs`, default 60 s).
   * A connection silent for three intervals is taken for dead and replaced.
   */
  readonly keepaliveMs?: number;
  /**
   * How long the SDK waits for the rest of a room version made only of list changes before
   * publishing it (default 10). A version's messages arrive back to back, and its first event,
   * a newer version or an ack publish it at once; this only bounds the wait when nothing
   * follows.
   */
  readonly coalesceMs?: number;
}

/** What the claims of a token say, as far as the client can read them (it cannot verify them). */
interface TokenClaims {
  sub?: unknown;
  role?: unknown;
  room?: unknown;
  exp?: unknown;
}

/** The claims of a JWT, or `null` if it is not one. */
function readClaims(token: string): TokenClaims | null {
  const part = token.split(".")[1];
  if (part === undefined) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      Array.from(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), "=")), (c) =>
        `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
      ).join(""),
    );
    const v: unknown = JSON.parse(json);
    return typeof v === "object" && v !== null ? (v as TokenClaims) : null;
  } catch {
    return null;
  }
}

/** @internal A joined room as its stores use it. */
export interface RoomHandle {
  readonly client: Client;
  readonly shared: StoreShared;
  /** Observed (a service admin's watch) rather than joined. */
  readonly observe: boolean;
  /** Sends a command to the room; fails with `ROOM_CLOSED` once the store ended. */
  call(command: Command): Promise<Acked>;
  /** Leaves the room (every store of it on this client ends). */
  leave(): Promise<void>;
}

/**
 * A connection to a coguest server, shared by every store created from it.
 *
 * The connection reconnects on its own (exponential backoff with jitter) and resumes every
 * room where it stopped: no event is lost or delivered twice, and a call in flight is re-sent
 * with the same request id, which the server applies at most once. It stops when the token is
 * refused (close code 4001: {@link Client.closeError} says why; a client whose token expired is
 * closed with `-3011` and must be rebuilt with all its stores, so renew it in time with
 * {@link Client.updateToken}) or on {@link Client.close}.
 *
 * @example
 * ```ts
 * const client = await Client.connect("ws://127.0.0.1:7700", token);
 * client.status.subscribe((s) => console.log("connection:", s));
 * const store = await CoGuestStore.create(client, "live_room_123");
 * ```
 */
export class Client {
  /** The authenticated user's id (from the token, as the server read it). */
  readonly userID: string;
  /** The user's role (from the token): `"owner"`, `"admin"` or `"audience"`. */
  readonly role: Role;
  /** The connection's state: `"connecting"`, `"connected"`, `"reconnecting"` or `"closed"`. */
  readonly status: ReadonlyObservable<ConnectionStatus>;
  #actor: Actor;
  #rooms = new Map<string, RoomHandle>();
  #joining = new Map<string, Promise<RoomHandle>>();

  private constructor(actor: Actor) {
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
  static async connect(url: string | readonly string[], token: string, options: ClientOptions = {}): Promise<Client> {
    const urls = typeof url === "string" ? [url] : [...url];
    if (urls.length === 0) throw new CoGuestError(CoGuestError.INVALID_URL, "no server URL given");
    for (const u of urls) wsURL(u, "");
    const actor = await Actor.connect({
      urls,
      token,
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      backoffInitialMs: options.backoffInitialMs ?? 250,
      backoffMaxMs: Math.max(options.backoffMaxMs ?? 10_000, options.backoffInitialMs ?? 250),
      keepaliveMs: Math.max(options.keepaliveMs ?? 20_000, 100),
      coalesceMs: Math.max(options.coalesceMs ?? 10, 0),
    });
    return new Client(actor);
  }

  /** Why the client closed, when the server refused its token (`null` while open or after {@link Client.close}). */
  get closeError(): CoGuestError | null {
    return this.#actor.closeError;
  }

  /** Failed reconnect attempts since the connection dropped (0 while connected). */
  get reconnectAttempt(): number {
    return this.#actor.attempt;
  }

  /** When the current token expires (Unix milliseconds, from its `exp` claim), if it says. */
  get tokenExpiresAt(): number | null {
    const exp = readClaims(this.#actor.token)?.exp;
    return typeof exp === "number" ? exp * 1000 : null;
  }

  /** A round trip to the server (`ping`): resolves once the server answered. */
  async ping(): Promise<void> {
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
  async updateToken(token: string): Promise<void> {
    const current = readClaims(this.#actor.token);
    const next = readClaims(token);
    if (next === null) {
      throw new CoGuestError(ErrorCode.UNAUTHENTICATED, "the new token is not a JWT");
    }
    for (const claim of ["sub", "role", "room"] as const) {
      if (current !== null && current[claim] !== next[claim]) {
        throw new CoGuestError(
          ErrorCode.TOKEN_MISMATCH,
          `the new token's \`${claim}\` (${JSON.stringify(next[claim])}) is not this client's (${JSON.stringify(current[claim])})`,
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
  close(): void {
    this.#actor.close();
  }

  /** @internal Watches the rooms list (see `RoomsObserver`). */
  watchRooms(onRooms: (msg: RoomsMsg) => void): Promise<void> {
    return this.#actor.watchRooms(onRooms);
  }

  /** @internal Stops watching the rooms list. */
  unwatchRooms(): Promise<void> {
    return this.#actor.unwatchRooms();
  }

  /**
   * @internal The room `room` joined through this client: the live one if there is one (one
   * store per room per client), else a new join. Concurrent calls for one room share it.
   */
  room(room: string, observe = false): Promise<RoomHandle> {
    const mixed = (): Promise<RoomHandle> =>
      Promise.reject(
        new CoGuestError(
          ErrorCode.REQUEST_NO_PERMISSION,
          `room ${JSON.stringify(room)} is ${observe ? "joined" : "observed"} by this client: ${observe ? "observe" : "join"} it from another client`,
        ),
      );
    const live = this.#rooms.get(room);
    if (live && !live.shared.closed) return live.observe === observe ? Promise.resolve(live) : mixed();
    const joining = this.#joining.get(room);
    if (joining) return joining.then((h) => (h.observe === observe ? h : mixed()));
    const shared = new StoreShared(room);
    const p = this.#actor.join(room, shared, observe).then(
      () => {
        this.#joining.delete(room);
        const handle: RoomHandle = {
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
          },
        };
        this.#rooms.set(room, handle);
        return handle;
      },
      (e: unknown) => {
        this.#joining.delete(room);
        throw e;
      },
    );
    this.#joining.set(room, p);
    return p;
  }
}
