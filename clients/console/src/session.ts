// A signed-in operator: the credential (kept for this tab only), the SDK client for live
// data, and the admin API over `fetch` for actions.

import { Client, CoGuestError, ErrorCode, RoomsObserver } from "../../typescript/src/index.js";

const STORAGE_KEY = "coguest.console.credential";

/** A refused admin API call or sign-in: the server's code and message. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: number | null,
    message: string,
  ) {
    super(message);
  }

  /** `NAME (code): message`, as the console shows it. */
  describe(): string {
    if (this.code === null) return `HTTP ${this.status}: ${this.message}`;
    return `${codeName(this.code) ?? "error"} (${this.code}): ${this.message}`;
  }
}

/** The protocol name of a server error code. */
export function codeName(code: number): string | undefined {
  return Object.entries(ErrorCode).find(([, v]) => v === code)?.[0];
}

/** Any failure as a {@link Refusal}. */
export function refusal(e: unknown): Refusal {
  if (e instanceof Refusal) return e;
  if (e instanceof CoGuestError) return new Refusal(0, e.code, e.message);
  return new Refusal(0, null, e instanceof Error ? e.message : String(e));
}

/** The admin HTTP API of this server, with the operator's credential. */
export class AdminApi {
  readonly #credential: string;

  constructor(credential: string) {
    this.#credential = credential;
  }

  /** One call: the JSON answer, or a {@link Refusal} with the server's code and message. */
  async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers: {
          Authorization: `Bearer ${this.#credential}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        cache: "no-store",
      });
    } catch (e) {
      throw new Refusal(0, null, `the server could not be reached (${String(e)})`);
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch {
      json = null;
    }
    if (!res.ok) {
      const b = (json ?? {}) as { code?: unknown; message?: unknown };
      throw new Refusal(
        res.status,
        typeof b.code === "number" ? b.code : null,
        typeof b.message === "string" ? b.message : text || res.statusText,
      );
    }
    return json;
  }

  /** A room's path under `/v1/admin/rooms`. */
  static room(room: string, rest = ""): string {
    return `/v1/admin/rooms/${encodeURIComponent(room)}${rest}`;
  }
}

/** A signed-in operator. */
export class Session {
  readonly api: AdminApi;
  readonly client: Client;
  #rooms: Promise<RoomsObserver> | null = null;

  private constructor(api: AdminApi, client: Client) {
    this.api = api;
    this.client = client;
  }

  /** The credential this tab signed in with, if any. */
  static saved(): string | null {
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
  static async signIn(credential: string): Promise<Session> {
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
    let client: Client;
    try {
      client = await Client.connect(ws, credential);
    } catch (e) {
      throw refusal(e);
    }
    try {
      sessionStorage.setItem(STORAGE_KEY, credential);
    } catch {
      // Private mode without storage: signed in until the page reloads.
    }
    return new Session(api, client);
  }

  /** The rooms list, watched once per session. */
  rooms(): Promise<RoomsObserver> {
    this.#rooms ??= RoomsObserver.create(this.client);
    return this.#rooms;
  }

  /** Forgets the credential and closes the connection. */
  signOut(): void {
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // Nothing stored.
    }
    this.client.close();
  }
}
