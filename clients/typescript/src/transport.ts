/**
 * The WebSocket under a client: the platform's own (`globalThis.WebSocket`: browsers, Deno,
 * Node 22 and later), or the `ws` package in Node 20, loaded with a dynamic `import("ws")`
 * only when there is no global `WebSocket`, so browser bundles need not include it.
 *
 * Mirrors the `Transport` part of `crates/coguest-client/src/actor.rs` (`connect_one`,
 * `ws_url`).
 * @module
 */

import { CoGuestError } from "./error.js";

/** What the SDK needs of a WebSocket: the common part of the browser API and `ws`'s. */
interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

type WebSocketCtor = new (url: string) => WebSocketLike;

/** `WebSocket.OPEN`. */
const OPEN = 1;

let ctor: Promise<WebSocketCtor> | undefined;

/** The WebSocket constructor of this platform. */
function webSocketCtor(): Promise<WebSocketCtor> {
  ctor ??= (async () => {
    const native = (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
    if (typeof native === "function") return native;
    try {
      const ws = (await import("ws")) as unknown as { WebSocket?: WebSocketCtor; default?: WebSocketCtor };
      const found = ws.WebSocket ?? ws.default;
      if (typeof found === "function") return found;
    } catch {
      // Reported below.
    }
    ctor = undefined;
    throw new CoGuestError(
      CoGuestError.CONNECT_FAILED,
      "no WebSocket implementation: this runtime has no global WebSocket and the `ws` package could not be loaded",
    );
  })();
  return ctor;
}

/**
 * The WebSocket URL for a server base URL (`ws://host:port`, a trailing `/` allowed): the SDK
 * opens `{base}/v1/ws?token=...`.
 */
export function wsURL(base: string, token: string): string {
  const b = base.trim().replace(/\/+$/, "");
  if (!/^wss?:\/\/[^/?#\s]+/i.test(b)) {
    throw new CoGuestError(CoGuestError.INVALID_URL, `${JSON.stringify(base)} is not a ws:// or wss:// URL`);
  }
  return `${b}/v1/ws?token=${encodeURIComponent(token)}`;
}

/** One open WebSocket, as the connection actor uses it. */
export interface Socket {
  /** Writes a text frame; whether the socket was open to take it. */
  send(text: string): boolean;
  /** Closes the socket (a close frame with `code` when given). No `onClose` follows. */
  close(code?: number): void;
  /**
   * Starts delivering: `onMessage` with each text frame (those that arrived before this call
   * first), `onClose` once when the socket closes by itself, with its close code (1006 when
   * none). Replaces the handlers of an earlier call.
   */
  listen(onMessage: (text: string) => void, onClose: (code: number, reason: string) => void): void;
}

/**
 * Opens a WebSocket to `url` within `timeoutMs`. Fails with `CONNECT_FAILED` when it cannot
 * be opened (or `INVALID_URL` when the platform refuses the URL).
 */
export async function openSocket(url: string, timeoutMs: number): Promise<Socket> {
  const Ctor = await webSocketCtor();
  let ws: WebSocketLike;
  try {
    ws = new Ctor(url);
  } catch (e) {
    throw new CoGuestError(CoGuestError.INVALID_URL, `cannot open ${redact(url)}: ${String(e)}`);
  }
  return new Promise<Socket>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      fail(new CoGuestError(CoGuestError.CONNECT_FAILED, `connecting to ${redact(url)} timed out`));
      try {
        ws.close();
      } catch {
        // Already closing.
      }
    }, timeoutMs);
    const fail = (e: CoGuestError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.onopen = ws.onmessage = ws.onclose = null;
      // Never without an error handler: `ws` throws an error event nobody listens to.
      ws.onerror = ignore;
      reject(e);
    };
    ws.onerror = () => {
      // Browsers say nothing more; `onclose` follows with 1006.
    };
    ws.onclose = (ev) =>
      fail(new CoGuestError(CoGuestError.CONNECT_FAILED, `could not connect to ${redact(url)} (close ${ev.code})`));
    ws.onopen = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      let closed = false;
      // What arrives before `listen` waits for it.
      const early: string[] = [];
      let earlyClose: [number, string] | null = null;
      let onMessage: ((text: string) => void) | null = null;
      let onClose: ((code: number, reason: string) => void) | null = null;
      const socket: Socket = {
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
            if (code === undefined) ws.close();
            else ws.close(code);
          } catch {
            // Already closing.
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
        },
      };
      ws.onmessage = (ev) => {
        if (typeof ev.data !== "string") return;
        if (onMessage) onMessage(ev.data);
        else early.push(ev.data);
      };
      ws.onclose = (ev) => {
        if (closed) return;
        const code = ev.code || 1006;
        const reason = ev.reason || "";
        if (!onClose) {
          earlyClose = [code, reason];
          return;
        }
        closed = true;
        onClose(code, reason);
      };
      resolve(socket);
    };
  });
}

function ignore(): void {}

/** The URL without its token, for messages. */
function redact(url: string): string {
  return url.replace(/([?&]token=)[^&]*/, "$1…");
}
