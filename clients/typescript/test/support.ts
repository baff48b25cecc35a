// Shared test setup: the real `coguest` binary on a temporary data directory and a free port,
// tokens minted by `coguest token`, a TCP proxy that can cut or muffle connections, listener
// recorders and waiting helpers. Each test file then reads as its scenario.

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { createServer, connect, type Socket as NetSocket, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import {
  Client,
  CoGuestStore,
  type ClientOptions,
  type GuestListener,
  type HostListener,
  type LiveUserInfo,
  type ReadonlyObservable,
  type Role,
  type SeatListener,
} from "../src/index.js";

/** The package directory (`clients/typescript`); tests run from `build/test/`. */
export const PACKAGE_DIR = fileURLToPath(new URL("../../", import.meta.url));
/** The repository root. */
export const REPO_DIR = join(PACKAGE_DIR, "../..");

/** The `coguest` binary: `$COGUEST_BIN`, or the workspace's debug build. Fails loudly when missing. */
export function coguestBin(): string {
  const bin = process.env.COGUEST_BIN ?? join(REPO_DIR, "target/debug/coguest");
  if (!existsSync(bin)) {
    throw new Error(
      `the coguest binary is missing at ${bin}: build it with \`cargo build -p coguest-cli\` ` +
        "at the repository root, or point COGUEST_BIN at one",
    );
  }
  return bin;
}

/** The Chromium the browser test drives: `$CHROMIUM`, or Debian's. Fails loudly when missing. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(path)) {
    throw new Error(`Chromium is missing at ${path}: install it with \`apt-get install -y chromium\`, or point CHROMIUM at one`);
  }
  return path;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const address = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Options of a token minted by `coguest token`. */
export interface TokenOptions {
  /** Lifetime in seconds (default a day). */
  ttl?: number;
  /** Limit the token to this room. */
  room?: string;
  /** Display name (default: the user id, capitalised). */
  name?: string;
  /** A service admin's token (`adm`): the admin API, observing rooms. */
  admin?: boolean;
}

/** What a server serves TLS with: `--tls-cert` / `--tls-key` files, and the CA that issued the certificate. */
export interface ServerTls {
  /** Path of the PEM certificate chain. */
  cert: string;
  /** Path of its PEM private key. */
  key: string;
  /** The issuing CA's certificate (PEM), trusted by the test's own HTTPS calls. */
  ca: string;
}

/** A real `coguest serve` on a temporary data directory. */
export class TestServer {
  readonly port: number;
  readonly dataDir: string;
  readonly secret = randomBytes(16).toString("hex");
  readonly apiKey = randomBytes(16).toString("hex");
  readonly extraArgs: string[];
  readonly tls: ServerTls | null;
  #proc: ChildProcess | null = null;
  #logs = "";

  private constructor(port: number, dataDir: string, extraArgs: string[], tls: ServerTls | null) {
    this.port = port;
    this.dataDir = dataDir;
    this.extraArgs = extraArgs;
    this.tls = tls;
  }

  /** Starts a server (extra `serve` flags in `args`), over TLS when given `tls`. */
  static async start(args: string[] = [], tls: ServerTls | null = null): Promise<TestServer> {
    const s = new TestServer(await freePort(), mkdtempSync(join(tmpdir(), "coguest-ts-")), args, tls);
    await s.startAgain();
    return s;
  }

  /** The base URL for `Client.connect` (`wss://` when serving TLS). */
  get url(): string {
    return `${this.tls === null ? "ws" : "wss"}://127.0.0.1:${this.port}`;
  }

  /** What the server printed so far (for failure messages). */
  get logs(): string {
    return this.#logs;
  }

  /** Starts the server process (again) on the same port and data directory, and waits until it serves. */
  async startAgain(): Promise<void> {
    const bin = coguestBin();
    const proc = spawn(
      bin,
      // Scenarios join in any order (an audience member before the owner): any join creates the
      // room here; the server's owner-only default is tested by the Rust e2e tests.
      ["serve", "--listen", `127.0.0.1:${this.port}`, "--data-dir", this.dataDir, "--api-key", this.apiKey,
        "--room-creation", "anyone", ...(this.tls === null ? [] : ["--tls-cert", this.tls.cert, "--tls-key", this.tls.key]),
        ...this.extraArgs],
      { env: { ...process.env, COGUEST_SECRET: this.secret, RUST_LOG: process.env.RUST_LOG ?? "warn" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#proc = proc;
    proc.stdout?.on("data", (d: Buffer) => (this.#logs += d.toString()));
    proc.stderr?.on("data", (d: Buffer) => (this.#logs += d.toString()));
    let exited: number | null = null;
    proc.on("exit", (code) => (exited = code ?? -1));
    const until = Date.now() + 15_000;
    for (;;) {
      if (exited !== null) throw new Error(`coguest serve exited with ${exited}:\n${this.#logs}`);
      if (await this.#healthy()) return;
      if (Date.now() > until) throw new Error(`coguest serve did not start in time:\n${this.#logs}`);
      await sleep(50);
    }
  }

  /** Whether `GET /healthz` answers 200. */
  async #healthy(): Promise<boolean> {
    try {
      return (await this.get("/healthz"))[0] === 200;
    } catch {
      return false; // Not listening yet.
    }
  }

  /** `GET path` on this server (over HTTPS trusting its CA when serving TLS): the status and the body. */
  async get(path: string): Promise<[number, string]> {
    if (this.tls === null) {
      const res = await fetch(`http://127.0.0.1:${this.port}${path}`);
      return [res.status, await res.text()];
    }
    const ca = this.tls.ca;
    return new Promise<[number, string]>((resolve, reject) => {
      const req = httpsGet({ host: "127.0.0.1", port: this.port, path, ca, timeout: 5_000 }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve([res.statusCode ?? 0, body]));
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on("error", reject);
    });
  }

  /** Kills the server process with `signal` (default SIGKILL: a crash) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = this.#proc;
    this.#proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    await exited;
  }

  /** Stops the server and removes its data directory. */
  async stop(): Promise<void> {
    await this.kill("SIGTERM");
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** A token signed with this server's secret, minted by `coguest token`. */
  token(user: string, role: Role, opts: TokenOptions = {}): string {
    const args = ["token", "--user", user, "--role", role, "--name", opts.name ?? capitalise(user), "--ttl", String(opts.ttl ?? 86_400)];
    if (opts.room !== undefined) args.push("--room", opts.room);
    if (opts.admin === true) args.push("--admin");
    return execFileSync(coguestBin(), args, { env: { ...process.env, COGUEST_SECRET: this.secret } })
      .toString()
      .trim();
  }

  /** A client of `user` connected to this server (or to `url`, a proxy). */
  client(user: string, role: Role, options: ClientOptions = {}, url = this.url): Promise<Client> {
    return Client.connect(url, this.token(user, role), { requestTimeoutMs: 10_000, ...options });
  }

  /** A client of `user` and its store of `room`. */
  async member(room: string, user: string, role: Role, options: ClientOptions = {}): Promise<[Client, CoGuestStore]> {
    const c = await this.client(user, role, options);
    return [c, await CoGuestStore.create(c, room)];
  }

  /** One admin API call with the API key: the HTTP status and the JSON body (or `null`). */
  async admin(method: string, path: string, body?: unknown): Promise<[number, unknown]> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method,
      headers: { "X-Api-Key": this.apiKey, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return [res.status, text === "" ? null : (JSON.parse(text) as unknown)];
  }

  /** Closes `room` through the admin API (`DELETE /v1/admin/rooms/{room}`); the HTTP status. */
  async closeRoom(room: string): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.port}/v1/admin/rooms/${encodeURIComponent(room)}`, {
      method: "DELETE",
      headers: { "X-Api-Key": this.apiKey },
    });
    return res.status;
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * A TCP proxy in front of a server: `cut()` drops every connection through it, and
 * `swallowAnswers(true)` drops whatever the server sends (so calls go out but answers never
 * come back, and new connections never hear `welcome`).
 */
export class Proxy {
  #server: NetServer;
  #conns: Set<[NetSocket, NetSocket]>;
  #state: { swallow: boolean };
  readonly port: number;

  private constructor(server: NetServer, port: number, conns: Set<[NetSocket, NetSocket]>, state: { swallow: boolean }) {
    this.#server = server;
    this.port = port;
    this.#conns = conns;
    this.#state = state;
  }

  static async start(target: number): Promise<Proxy> {
    const conns = new Set<[NetSocket, NetSocket]>();
    const state = { swallow: false };
    const server = createServer((client) => {
      const upstream = connect(target, "127.0.0.1");
      const pair: [NetSocket, NetSocket] = [client, upstream];
      conns.add(pair);
      client.on("data", (d) => upstream.write(d));
      upstream.on("data", (d) => {
        if (!state.swallow) client.write(d);
      });
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        conns.delete(pair);
      };
      client.on("close", end);
      upstream.on("close", end);
      client.on("error", end);
      upstream.on("error", end);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return new Proxy(server, address.port, conns, state);
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  swallowAnswers(on: boolean): void {
    this.#state.swallow = on;
  }

  /** Drops every connection (no close frame: the client sees a dead socket). */
  cut(): void {
    for (const [a, b] of this.#conns) {
      a.destroy();
      b.destroy();
    }
    this.#conns.clear();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** How long a test waits for something that should happen (never reached when things work). */
export const WAIT_MS = 10_000;

/** Resolves once `pred(obs.value)` holds (checked now and on every change); fails after `WAIT_MS`. */
export function waitFor<T>(obs: ReadonlyObservable<T>, what: string, pred: (v: T) => boolean, ms = WAIT_MS): Promise<T> {
  if (pred(obs.value)) return Promise.resolve(obs.value);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(obs.value)}`));
    }, ms);
    const off = obs.subscribe((v) => {
      if (pred(v)) {
        clearTimeout(timer);
        off();
        resolve(v);
      }
    });
  });
}

/** Resolves once `pred()` holds, polling; fails after `ms`. */
export async function eventually(what: string, pred: () => boolean, ms = WAIT_MS): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The ids of a list of users. */
export const ids = (users: readonly LiveUserInfo[]): string[] => users.map((u) => u.userID);

/**
 * Every callback as one line (`"guestApplicationReceived bob"`), for host, guest and seat
 * listeners at once; {@link Recorder.expect} waits for a line, {@link Recorder.drain} takes the
 * unread rest.
 */
export class Recorder {
  readonly lines: string[] = [];
  #read = 0;
  #waiters: Array<() => void> = [];

  #push(line: string): void {
    this.lines.push(line);
    for (const w of this.#waiters.splice(0)) w();
  }

  readonly host: HostListener = {
    onGuestApplicationReceived: (g, seat, extra) => this.#push(`guestApplicationReceived ${g.userID}${extra ? ` ${extra}` : ""}${seat >= 0 ? ` seat ${seat}` : ""}`),
    onGuestApplicationCancelled: (g) => this.#push(`guestApplicationCancelled ${g.userID}`),
    onGuestApplicationProcessedByOtherHost: (g, h) => this.#push(`guestApplicationProcessedByOtherHost ${g.userID} by ${h.userID}`),
    onHostInvitationResponded: (accept, g) => this.#push(`hostInvitationResponded ${accept} ${g.userID}`),
    onHostInvitationNoResponse: (g, reason) => this.#push(`hostInvitationNoResponse ${g.userID} ${reason}`),
  };

  readonly guest: GuestListener = {
    onHostInvitationReceived: (h, seat, extra) => this.#push(`hostInvitationReceived ${h.userID}${extra ? ` ${extra}` : ""}${seat >= 0 ? ` seat ${seat}` : ""}`),
    onHostInvitationCancelled: (h) => this.#push(`hostInvitationCancelled ${h.userID}`),
    onGuestApplicationResponded: (accept, h) => this.#push(`guestApplicationResponded ${accept} ${h.userID}`),
    onGuestApplicationNoResponse: (reason) => this.#push(`guestApplicationNoResponse ${reason}`),
    onKickedOffSeat: (seat, h) => this.#push(`kickedOffSeat ${seat} ${h.userID}`),
  };

  readonly seat: SeatListener = {
    onKickedOffSeat: (seat, h) => this.#push(`seat.kickedOffSeat ${seat} ${h.userID}`),
    onMovedToSeat: (from, to, h) => this.#push(`seat.movedToSeat ${from}->${to} ${h.userID}`),
    onDevicePermissionChanged: (d, allowed, seat, h) => this.#push(`seat.devicePermissionChanged ${d} ${allowed} ${seat ?? "user"} ${h.userID}`),
    onRoleChanged: (role, by) => this.#push(`seat.roleChanged ${role} ${by.userID}`),
  };

  /** Listens to every callback of `store` (and its seat layer). */
  static on(store: CoGuestStore): Recorder {
    const r = new Recorder();
    store.addHostListener(r.host);
    store.addGuestListener(r.guest);
    store.liveSeatStore().addSeatListener(r.seat);
    return r;
  }

  /** Waits for the next unread line and checks it is `line`. */
  async expect(line: string, ms = WAIT_MS): Promise<void> {
    const until = Date.now() + ms;
    while (this.#read >= this.lines.length) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${JSON.stringify(line)}; had ${JSON.stringify(this.lines)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const got = this.lines[this.#read++];
    if (got !== line) {
      throw new Error(`expected ${JSON.stringify(line)}, got ${JSON.stringify(got)}; all: ${JSON.stringify(this.lines)}`);
    }
  }

  /** The unread lines, marking them read. */
  drain(): string[] {
    const rest = this.lines.slice(this.#read);
    this.#read = this.lines.length;
    return rest;
  }
}

/**
 * Lets everything in flight arrive: a round trip on each client (so every frame the server
 * sent before it was handled), then a little more than the SDK's publish delay.
 */
export async function settle(clients: readonly Client[]): Promise<void> {
  for (const c of clients) await c.ping();
  await sleep(50);
  for (const c of clients) await c.ping();
  await sleep(30);
}

/** The code of the error `p` rejects with (fails if it resolves). */
export async function errorCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "number") return code;
    throw e;
  }
  throw new Error("expected a rejection");
}

/** The server of one `describe` block and the members made on it (see {@link suiteServer}). */
export interface SuiteServer {
  /** The running server (set once the suite's `before` hook ran). */
  readonly server: TestServer;
  /** A client of `user` and its store in `room`, closed after the suite. */
  member(room: string, user: string, role: Role): Promise<readonly [Client, CoGuestStore]>;
  /** Closes `client` after the suite; returns it. */
  track(client: Client): Client;
}

/**
 * Starts one server for the enclosing `describe` (before its tests) and stops it after them,
 * closing every client made through `member` or handed to `track` first.
 */
export function suiteServer(): SuiteServer {
  let server: TestServer | null = null;
  const clients: Client[] = [];
  before(async () => {
    server = await TestServer.start();
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });
  const running = (): TestServer => {
    if (server === null) throw new Error("the suite's server is not started yet");
    return server;
  };
  return {
    get server() {
      return running();
    },
    async member(room, user, role) {
      const [c, s] = await running().member(room, user, role);
      clients.push(c);
      return [c, s] as const;
    },
    track(client) {
      clients.push(client);
      return client;
    },
  };
}
