/**
 * {@link CoGuestError}: what every failed SDK call rejects with, and the table of codes.
 *
 * Mirrors `crates/coguest-client/src/error.rs`.
 * @module
 */

/**
 * The server's error codes (`PROTOCOL.md`, "Error codes"; `crates/coguest-proto/src/codes.rs`).
 * Codes from `-1` to `-2399` reuse TUIRoomEngine's `TUIError` numbers where the meaning is the
 * same; coguest's own codes are `-3000` and below. `0` is never an error. A test checks this
 * table against PROTOCOL.md's.
 */
export const ErrorCode = {
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
  APPROVAL_UNAVAILABLE: -3051,
} as const;

/** The name of a server error code (a key of {@link ErrorCode}). */
export type ErrorCodeName = keyof typeof ErrorCode;

/**
 * Why a call failed: a numeric {@link CoGuestError.code | code} and a human-readable
 * `message`, like the reference `CompletionHandler`.
 *
 * Codes from the server are the protocol's ({@link ErrorCode}): `-2311` (`REQUEST_ID_INVALID`)
 * when another host answered an application first, `-2342` (`SEAT_OCCUPIED`), and so on; a
 * command refused by the server changed nothing. Failures detected by the SDK itself have
 * codes of their own, from `-4100` down (the static constants below). `0` is never an error.
 */
export class CoGuestError extends Error {
  /** The server could not be reached, or the WebSocket handshake failed. */
  static readonly CONNECT_FAILED = -4100;
  /** The client was closed ({@link Client.close}). */
  static readonly CLOSED = -4101;
  /**
   * The call's deadline (`requestTimeoutMs`) passed before it could be written to any
   * connection: the client was disconnected the whole time. It was **not applied and never
   * will be** (the SDK drops it); calling again is safe. From `CoGuestStore.create`: the
   * room's first join was not answered in time; no store exists (if the join went out, the
   * SDK sends a `leave` to undo it).
   */
  static readonly TIMEOUT = -4102;
  /**
   * The call was written to a connection but no answer arrived before its deadline (re-sends
   * with the same request id after reconnecting included). The outcome is **unknown**: read
   * the lists before deciding; calling again sends a new request, which the server refuses
   * with a precise code while the first one's effect stands.
   */
  static readonly OUTCOME_UNKNOWN = -4103;
  /**
   * The server closed the connection with close code 4001 (token refused or expired) without
   * saying more. When it did say more, the error carries the server's code instead (`-3010`,
   * `-3011`, `-3012`). The client stops reconnecting.
   */
  static readonly UNAUTHORIZED = -4104;
  /** The server sent something this SDK does not understand (no `welcome`, another protocol version). */
  static readonly PROTOCOL = -4105;
  /** The room was closed by the server, or this store left it: the store is no longer a member. */
  static readonly ROOM_CLOSED = -4106;
  /** A server URL given to {@link Client.connect} is not a `ws://` or `wss://` URL. */
  static readonly INVALID_URL = -4107;

  /** The numeric code: the server's (see {@link ErrorCode}) or one of the SDK constants. Never `0`. */
  readonly code: number;

  /** For `APPROVAL_DENIED` (-3050): the code the app's approval hook gave, if any. */
  readonly appCode: number | undefined;

  /** For `APPROVAL_DENIED` (-3050): the reason the app's approval hook gave, if any. */
  readonly reason: string | undefined;

  /** An error with this code and message (and, for a denial, the app's code and reason). */
  constructor(code: number, message: string, approval?: { appCode?: number | undefined; reason?: string | undefined }) {
    super(message);
    this.name = "CoGuestError";
    this.code = code;
    this.appCode = approval?.appCode;
    this.reason = approval?.reason;
  }

  /** The protocol name of the code (`"REQUEST_ID_INVALID"`, ...), when it is one of the server's. */
  get codeName(): ErrorCodeName | undefined {
    for (const [name, value] of Object.entries(ErrorCode)) {
      if (value === this.code) return name as ErrorCodeName;
    }
    return undefined;
  }

  /** `message (code N)`. */
  override toString(): string {
    return `${this.name}: ${this.message} (code ${this.code})`;
  }
}

/** @internal The error of a call on a closed client. */
export function closedError(): CoGuestError {
  return new CoGuestError(CoGuestError.CLOSED, "the client is closed");
}

/** @internal Whether a server code refuses the token (the client then stops). */
export function isAuthCode(code: number): boolean {
  return (
    code === ErrorCode.UNAUTHENTICATED ||
    code === ErrorCode.TOKEN_EXPIRED ||
    code === ErrorCode.WRONG_ROOM
  );
}
