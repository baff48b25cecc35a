/**
 * {@link AdminClient}: the admin HTTP API (`/v1/admin/...` and `/v1/rooms/...`) for an app's
 * backend, typed from the server's OpenAPI document (`./openapi.ts`, generated).
 * @module
 */

import { CoGuestError, ErrorCode } from "../error.js";
import {
  OPERATIONS,
  type AdminRequest,
  type ChangeResult,
  type CreateRoom,
  type KickRequest,
  type MoveRequest,
  type OperationId,
  type Operations,
  type PickRequest,
  type RequestsResponse,
  type RoomList,
  type RoomResponse,
  type RoomSettingsInput,
  type SeatsResponse,
  type SettingsRequest,
} from "./openapi.js";

/** How an {@link AdminClient} reaches the server and proves it may. */
export interface AdminClientOptions {
  /**
   * The server's base URL, `http://` or `https://` (`https://coguest.example.com`, or with a
   * path prefix when a proxy serves the server under one).
   */
  url: string;
  /**
   * The server's API key (`coguest serve --api-key`), sent as `X-Api-Key`. It opens
   * `/v1/admin/...` only; {@link AdminClient.describeRoom} and {@link AdminClient.putRoom} need
   * {@link AdminClientOptions.token | token}.
   */
  apiKey?: string;
  /**
   * An admin token (`createToken({ ..., admin: true })` or `coguest token --admin`), sent as
   * `Authorization: Bearer`. One with a `room` reaches that room only (others: 403
   * `WRONG_ROOM`). Used instead of `apiKey` when both are given.
   */
  token?: string;
  /**
   * The `fetch` to send requests with (default: the global one), for a private CA or a proxy
   * (in Node, a `fetch` bound to an undici `Agent` with its own `connect.ca`).
   */
  fetch?: typeof globalThis.fetch;
  /** How long one request may take, in ms, from sending it to the last byte of the answer (default 10 000). */
  timeoutMs?: number;
}

/**
 * A refused or failed admin API call: the server's {@link CoGuestError.code | code} and message
 * (the WebSocket protocol's codes: `ROOM_ID_NOT_EXIST`, `SEAT_OCCUPIED`, `WRONG_ROOM`, ...) and
 * the HTTP {@link AdminError.status | status}. A refused call changed nothing.
 *
 * Failures before an answer have status `0`: `CoGuestError.CONNECT_FAILED` when the server could
 * not be reached, `CoGuestError.OUTCOME_UNKNOWN` when no answer came in time (the call may or may
 * not have been applied: read before retrying).
 */
export class AdminError extends CoGuestError {
  /** The HTTP status (`404`, `409`, ...), or `0` when no answer came. */
  readonly status: number;

  /** An error with this HTTP status, code and message. */
  constructor(status: number, code: number, message: string) {
    super(code, message);
    this.name = "AdminError";
    this.status = status;
  }
}

/** A path parameter, as the server reads it back (any character of a room id, `/` included). */
const segment = (value: string | number): string => encodeURIComponent(String(value));

/**
 * The admin HTTP API of one coguest server, for an app's backend (Node 20 and later, or any
 * runtime with `fetch`): rooms, seats, pending requests, settings and admins, each call typed by
 * the server's OpenAPI document. Every method answers what the server answered, or rejects with
 * an {@link AdminError}.
 *
 * @example
 * ```ts
 * import { AdminClient } from "coguest-client/server";
 *
 * const admin = new AdminClient({ url: "http://127.0.0.1:7700", apiKey: process.env.COGUEST_API_KEY });
 * await admin.createRoom({ room_id: "live_room_123", settings: { max_seat_count: 8 } });
 * await admin.pickSeat("live_room_123", { user_id: "user_456", seat_index: 2 });
 * const { seats } = await admin.getSeats("live_room_123");
 * ```
 */
export class AdminClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof globalThis.fetch;
  readonly #timeoutMs: number;

  /** A client of the server at `options.url`; sends nothing until a method is called. */
  constructor(options: AdminClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new TypeError(`not a URL: ${JSON.stringify(options.url)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`the admin API is served over http:// or https://, not ${url.protocol}//`);
    }
    this.#base = url.href.replace(/\/+$/, "");
    this.#headers = { accept: "application/json" };
    if (options.token !== undefined) this.#headers.authorization = `Bearer ${options.token}`;
    else if (options.apiKey !== undefined) this.#headers["x-api-key"] = options.apiKey;
    const f = options.fetch ?? globalThis.fetch;
    this.#fetch = (input, init) => f(input, init);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Every room's id (a token limited to one room: that room, if it exists). */
  listRooms(): Promise<RoomList> {
    return this.call("list_rooms", {});
  }

  /** Creates a room; answers it when created, or when it exists with the same settings (`ROOM_ID_OCCUPIED` with others). */
  createRoom(body: CreateRoom): Promise<RoomResponse> {
    return this.call("create_room", {}, body);
  }

  /** A room's settings, host view and member count. */
  getRoom(room: string): Promise<RoomResponse> {
    return this.call("get_room", { room });
  }

  /** Closes a room: every member gets `room_closed`, every pending request ends, the room is deleted. */
  closeRoom(room: string): Promise<void> {
    return this.call("close_room", { room });
  }

  /** Every seat, empty ones included, with lock and device flags. */
  getSeats(room: string): Promise<SeatsResponse> {
    return this.call("get_seats", { room });
  }

  /** Pending applications (in queue order) and invitations. */
  getRequests(room: string): Promise<RequestsResponse> {
    return this.call("get_requests", { room });
  }

  /** Seats a member directly (its pending requests close as already seated). */
  pickSeat(room: string, body: PickRequest): Promise<ChangeResult> {
    return this.call("pick_seat", { room }, body);
  }

  /** Removes a user from its seat (it gets `kicked_off_seat`). */
  kickUser(room: string, body: KickRequest): Promise<ChangeResult> {
    return this.call("kick_user", { room }, body);
  }

  /** Moves a seated user to another seat, with a policy for an occupied target. */
  moveUser(room: string, body: MoveRequest): Promise<ChangeResult> {
    return this.call("move_user", { room }, body);
  }

  /** Locks a seat (its occupant, if any, is removed and told). */
  lockSeat(room: string, seat: number): Promise<ChangeResult> {
    return this.call("lock_seat", { room, seat });
  }

  /** Unlocks a seat. */
  unlockSeat(room: string, seat: number): Promise<ChangeResult> {
    return this.call("unlock_seat", { room, seat });
  }

  /** Changes the seat mode and/or the number of seats. */
  changeSettings(room: string, body: SettingsRequest): Promise<ChangeResult> {
    return this.call("change_settings", { room }, body);
  }

  /** Grants or revokes admin (with the owner's authority). */
  setAdmin(room: string, body: AdminRequest): Promise<ChangeResult> {
    return this.call("set_admin", { room }, body);
  }

  /** A room's settings, host view and member count through `/v1/rooms` (admin token only). */
  describeRoom(room: string): Promise<RoomResponse> {
    return this.call("describe_room", { room });
  }

  /** Creates a room with settings through `/v1/rooms` (admin token only); `null` or nothing: the server's defaults. */
  putRoom(room: string, settings?: RoomSettingsInput | null): Promise<RoomResponse> {
    return this.call("put_room", { room }, settings);
  }

  /**
   * Sends any operation of the OpenAPI document by its id, with its path parameters and body:
   * what every method above does.
   */
  async call<K extends OperationId>(
    operation: K,
    params: Operations[K]["params"],
    body?: Operations[K]["body"],
  ): Promise<Operations[K]["response"]> {
    const op = OPERATIONS[operation];
    const values = params as Record<string, string | number>;
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined) throw new TypeError(`${operation}: the path parameter ${name} is missing`);
      return segment(value);
    });
    const headers: Record<string, string> = { ...this.#headers };
    let payload: string | undefined;
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    } else if (op.bodyRequired) {
      throw new TypeError(`${operation}: a body is required`);
    }
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(this.#base + path, {
        method: op.method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw transportError(operation, err, this.#timeoutMs);
    }
    if (!op.statuses.includes(res.status)) throw refusal(res.status, text);
    if (text === "") return undefined as Operations[K]["response"];
    try {
      return JSON.parse(text) as Operations[K]["response"];
    } catch {
      throw new AdminError(res.status, ErrorCode.FAILED, `${operation}: the answer is not JSON: ${text.slice(0, 200)}`);
    }
  }
}

/** The error of an answer with a status the operation does not succeed with. */
function refusal(status: number, text: string): AdminError {
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof body.code === "number" && typeof body.message === "string") {
      return new AdminError(status, body.code, body.message);
    }
  } catch {
    // Not the server's error body (a proxy's page, ...): said below.
  }
  return new AdminError(status, ErrorCode.FAILED, `HTTP ${status}: ${text.slice(0, 200)}`);
}

/** The error of a call that got no answer. */
function transportError(operation: string, err: unknown, timeoutMs: number): AdminError {
  const name = err instanceof Error ? err.name : "";
  if (name === "TimeoutError" || name === "AbortError") {
    return new AdminError(0, CoGuestError.OUTCOME_UNKNOWN, `${operation}: no answer within ${timeoutMs} ms; it may or may not have been applied`);
  }
  const cause = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
  return new AdminError(0, CoGuestError.CONNECT_FAILED, `${operation}: the server could not be reached: ${cause}`);
}
