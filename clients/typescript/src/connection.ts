/**
 * One connection's start: try the server URLs, open the WebSocket and wait for the server's
 * `welcome` (or its refusal of the token), handing the greeted connection to the actor.
 *
 * Mirrors `crates/coguest-client/src/connection.rs`.
 * @module
 */

import { CoGuestError, isAuthCode } from "./error.js";
import { openSocket, wsURL, type Socket } from "./transport.js";
import type { Role } from "./types.js";
import type * as wire from "./wire.js";

/** The protocol version this SDK speaks (`welcome.protocol`). */
export const PROTOCOL_VERSION = 1;
/** WebSocket close code for a refused or expired token. */
export const CLOSE_UNAUTHORIZED = 4001;

/** @internal Connection settings (see `ClientOptions`). */
export interface Config {
  urls: string[];
  token: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  keepaliveMs: number;
  coalesceMs: number;
}

/** @internal Who the server says we are. */
export interface Welcome {
  userID: string;
  role: Role;
}

/** A connection that said `welcome`, not yet listened to by the actor. */
export interface Greeted {
  socket: Socket;
  welcome: Welcome;
  /** Hands the connection to `onMessage` / `onClose`, with what arrived after `welcome` first. */
  start(onMessage: (text: string) => void, onClose: (code: number, reason: string) => void): void;
}

/** @internal Why a connection attempt failed: `unauthorized` stops the client, anything else is retried. */
export class ConnectError extends Error {
  /** The refusal and whether it is of the token. */
  constructor(
    readonly unauthorized: boolean,
    readonly error: CoGuestError,
  ) {
    super(error.message);
  }
}

/** A monotonic clock in milliseconds. */
export const now = (): number => performance.now();

/** A server frame, or `null` for one this SDK cannot read. */
export function parseServerMsg(text: string): wire.ServerMsg | null {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === "object" && v !== null && typeof (v as { t?: unknown }).t === "string") {
      return v as wire.ServerMsg;
    }
  } catch {
    // Ignored like any unreadable frame.
  }
  return null;
}

/** Tries every URL once, starting at `start`; the greeted connection and the URL's index. */
export async function connectAny(cfg: Config, start: number): Promise<[Greeted, number]> {
  const n = Math.max(cfg.urls.length, 1);
  let last = new CoGuestError(CoGuestError.CONNECT_FAILED, "no server URL given");
  for (let k = 0; k < cfg.urls.length; k++) {
    const idx = (start + k) % n;
    const url = cfg.urls[idx];
    if (url === undefined) continue;
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

/** Opens one connection and waits for `welcome` (or the refusal: an `error`, then close 4001). */
async function connectOne(base: string, token: string, timeoutMs: number): Promise<Greeted> {
  const deadline = now() + timeoutMs;
  let socket: Socket;
  try {
    socket = await openSocket(wsURL(base, token), timeoutMs);
  } catch (e) {
    throw new ConnectError(false, e instanceof CoGuestError ? e : new CoGuestError(CoGuestError.CONNECT_FAILED, String(e)));
  }
  return new Promise<Greeted>((resolve, reject) => {
    let refusal: CoGuestError | null = null;
    let greeted = false;
    const backlog: string[] = [];
    let closedAfter: [number, string] | null = null;
    let handlers: [(text: string) => void, (code: number, reason: string) => void] | null = null;
    const fail = (e: ConnectError): void => {
      clearTimeout(timer);
      socket.close();
      reject(e);
    };
    const timer = setTimeout(
      () => fail(new ConnectError(false, new CoGuestError(CoGuestError.CONNECT_FAILED, `no \`welcome\` from ${base} in time`))),
      Math.max(0, deadline - now()),
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
                  `the server speaks protocol ${msg.protocol}, this SDK speaks ${PROTOCOL_VERSION}`,
                ),
              ),
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
            },
          });
        } else if (msg?.t === "error") {
          refusal = new CoGuestError(msg.code, msg.message);
        } else {
          fail(new ConnectError(false, new CoGuestError(CoGuestError.PROTOCOL, "the server did not start with `welcome`")));
        }
      },
      (code, reason) => {
        if (greeted) {
          if (handlers) handlers[1](code, reason);
          else closedAfter = [code, reason];
          return;
        }
        clearTimeout(timer);
        if (code === CLOSE_UNAUTHORIZED) {
          reject(
            new ConnectError(
              true,
              refusal ?? new CoGuestError(CoGuestError.UNAUTHORIZED, `the server refused the token${reason ? `: ${reason}` : ""}`),
            ),
          );
        } else if (refusal && isAuthCode(refusal.code)) {
          // A refusal followed by the socket ending: the refusal it is.
          reject(new ConnectError(true, refusal));
        } else {
          reject(
            new ConnectError(
              false,
              refusal ?? new CoGuestError(CoGuestError.CONNECT_FAILED, `${base} closed the connection before \`welcome\``),
            ),
          );
        }
      },
    );
  });
}
