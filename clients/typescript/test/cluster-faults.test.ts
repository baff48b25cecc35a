// Cluster faults as the SDK sees them: one `coguest serve --redis` node on a Redis of the test's
// own (`redis-server` on a free port, no persistence), paused or flushed by the test. A room
// lost with Redis's data ends its store with `closedReason` "lost"; a connection the server
// closes with 4010 (its room could not be reloaded while Redis was paused) reconnects and
// resumes.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import type { Client, ConnectionStatus } from "../src/index.js";
import { TestServer, eventually, freePort, sleep, waitFor } from "./support.js";

/** A `redis-server` of the test's own on a free loopback port, without persistence. */
class OwnRedis {
  readonly port: number;
  readonly #proc: ChildProcess;

  private constructor(port: number, proc: ChildProcess) {
    this.port = port;
    this.#proc = proc;
  }

  static async start(): Promise<OwnRedis> {
    const port = await freePort();
    const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    const r = new OwnRedis(port, proc);
    const until = Date.now() + 10_000;
    while ((await r.command("PING").catch(() => "")) !== "PONG") {
      if (Date.now() > until) throw new Error("redis-server did not start");
      await sleep(20);
    }
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** One command on a fresh connection: a simple-string or integer reply, as text. */
  command(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect(this.port, "127.0.0.1");
      let reply = "";
      s.on("error", reject);
      s.on("data", (d: Buffer) => {
        reply += d.toString();
        if (reply.endsWith("\r\n")) {
          s.end();
          if (reply.startsWith("-")) reject(new Error(reply.trim()));
          else resolve(reply.slice(1).trim());
        }
      });
      s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
    });
  }

  pause(): void {
    this.#proc.kill("SIGSTOP");
  }

  resume(): void {
    this.#proc.kill("SIGCONT");
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#proc.once("exit", () => resolve()));
    this.#proc.kill("SIGKILL");
    await exited;
  }
}

/** A short reconnect backoff. */
const quick = { backoffInitialMs: 20, backoffMaxMs: 200 };

describe("cluster faults", () => {
  let redis: OwnRedis;
  let server: TestServer;
  const clients: Client[] = [];
  before(async () => {
    redis = await OwnRedis.start();
    server = await TestServer.start(["--redis", redis.url, "--redis-prefix", "ts-faults", "--node-id", "n0", "--lease-ms", "1000"]);
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
    await redis.stop();
  });

  test("a room lost with Redis's data ends its store with closedReason 'lost'", async () => {
    const [c, store] = await server.member("ts-lost", "host_1", "owner", quick);
    clients.push(c);
    assert.equal(store.closedReason, null);
    assert.equal(await redis.command("FLUSHALL"), "OK");
    await eventually("the store closed as lost", () => store.closedReason === "lost");
    assert.equal(store.isClosed, true);
  });

  test("closed with 4010 while Redis is paused: the SDK reconnects and resumes", async () => {
    const room = "ts-resync";
    const [ownerC, owner] = await server.member(room, "host_1", "owner", quick);
    const [bobC, bob] = await server.member(room, "bob", "audience", quick);
    clients.push(ownerC, bobC);
    const seen: ConnectionStatus[] = [];
    ownerC.status.subscribe((s) => seen.push(s));

    redis.pause();
    // Not storable while Redis sleeps: the room's reload fails too, it stops and closes its
    // connections with 4010.
    const during = owner.inviteToSeat({ inviteeID: "bob", seatIndex: 1, timeout: 60 }).catch((e: unknown) => e);
    await sleep(3000);
    redis.resume();
    await during;

    await waitFor(ownerC.status, "the owner connected again", (s) => s === "connected" && seen.includes("reconnecting"));
    assert.equal(owner.isClosed, false);
    assert.equal(bob.isClosed, false);
    // Both resumed: a change made now reaches bob's store.
    await owner.lockSeat(3);
    await waitFor(bob.liveSeatStore().seatList, "bob sees seat 3 locked", (seats) => seats.some((s) => s.seatIndex === 3 && s.isLocked));
    const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    const reset = Number(/^coguest_cluster_conns_reset_total (\S+)$/m.exec(metrics)?.[1] ?? "0");
    assert.ok(reset >= 1, `connections closed with 4010: ${reset}`);
  });
});
