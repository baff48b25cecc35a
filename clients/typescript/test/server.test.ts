// The server entry (`coguest-client/server`) against the real binary: `AdminClient` through every
// operation of the OpenAPI document, with the API key, an admin token and a token limited to one
// room; `createToken` minting what the server accepts (the claims `coguest token` mints);
// `verifyWebhook` on deliveries the server really sent (a forged, re-signed or replayed one
// refused); `verifyApproval` inside a real approval hook the server asks.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Client, CoGuestStore, type Client as ClientType } from "../src/index.js";
import {
  AdminClient,
  AdminError,
  ErrorCode,
  SignatureError,
  createToken,
  verifyApproval,
  verifyWebhook,
  type ApprovalResponse,
  type OperationId,
  type WebhookEvent,
} from "../src/server/index.js";
import { OPERATIONS } from "../src/server/openapi.js";
import { TestServer, errorCode, eventually, waitFor } from "./support.js";

/** A request as an endpoint received it: its headers and raw body. */
interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}

/** An HTTP endpoint on a free loopback port that records each request and answers with `answer`. */
async function endpoint(answer: (r: Received) => Promise<[number, unknown]>): Promise<{ url: string; received: Received[]; server: HttpServer }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      received.push(r);
      void answer(r).then(([status, body]) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received, server };
}

const closeHttp = (s: HttpServer): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

/** The rejection of `p`, which must be an `AdminError`. */
async function adminError(p: Promise<unknown>): Promise<AdminError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AdminError, `not an AdminError: ${String(e)}`);
    return e;
  }
  throw new Error("expected a rejection");
}

/** The payload of a JWT. */
const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;

describe("AdminClient", () => {
  let server: TestServer;
  let admin: AdminClient;
  const clients: ClientType[] = [];
  before(async () => {
    server = await TestServer.start();
    admin = new AdminClient({ url: `http://127.0.0.1:${server.port}`, apiKey: server.apiKey });
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  test("has a method for every operation of the OpenAPI document", () => {
    const camel = (id: string) => id.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
    const ops = Object.keys(OPERATIONS) as OperationId[];
    assert.ok(ops.length >= 15, ops.join());
    for (const op of ops) {
      assert.equal(typeof (admin as unknown as Record<string, unknown>)[camel(op)], "function", `AdminClient.${camel(op)} for ${op}`);
    }
  });

  test("every admin operation against the server", async () => {
    const room = "ops/room 1"; // A room id with a slash and a space: path parameters are encoded.
    const created = await admin.createRoom({ room_id: room, settings: { max_seat_count: 4 } });
    assert.equal(created.room, room);
    assert.equal(created.settings.max_seat_count, 4);
    // The same settings again: the room as it is.
    assert.equal((await admin.createRoom({ room_id: room, settings: { max_seat_count: 4 } })).room, room);
    assert.equal((await adminError(admin.createRoom({ room_id: room, settings: { max_seat_count: 6 } }))).code, ErrorCode.ROOM_ID_OCCUPIED);
    assert.ok((await admin.listRooms()).rooms.includes(room));
    assert.equal((await admin.getRoom(room)).member_count, 0);

    const c = await server.client("guest", "audience");
    clients.push(c);
    const store = await CoGuestStore.create(c, room);
    const v1 = await admin.pickSeat(room, { user_id: "guest", seat_index: 2 });
    await waitFor(store.coGuestState.connected, "guest seated", (l) => l.some((u) => u.userID === "guest"));
    const seats = await admin.getSeats(room);
    assert.equal(seats.seats.find((s) => s.seat_index === 2)?.user?.user_id, "guest");
    const v2 = await admin.moveUser(room, { user_id: "guest", seat_index: 3, policy: "abort_when_occupied" });
    assert.ok(v2.version > v1.version);
    assert.equal((await admin.getSeats(room)).seats.find((s) => s.seat_index === 3)?.user?.user_id, "guest");
    await admin.kickUser(room, { user_id: "guest" });
    assert.equal((await adminError(admin.kickUser(room, { user_id: "guest" }))).code, ErrorCode.USER_NOT_IN_SEAT);
    await admin.lockSeat(room, 1);
    assert.equal((await admin.getSeats(room)).seats.find((s) => s.seat_index === 1)?.locked, true);
    await admin.unlockSeat(room, 1);
    await admin.changeSettings(room, { seat_mode: "free_to_take", max_seat_count: 5 });
    assert.equal((await admin.getSeats(room)).seat_mode, "free_to_take");
    await admin.setAdmin(room, { user_id: "guest", admin: true });
    const requests = await admin.getRequests(room);
    assert.deepEqual([requests.applicants, requests.invitees], [[], []]);

    // `/v1/rooms` takes an admin token, not the API key.
    assert.equal((await adminError(admin.describeRoom(room))).status, 401);
    const token = await createToken({ userID: "ops", role: "audience", admin: true }, server.secret);
    const byToken = new AdminClient({ url: `http://127.0.0.1:${server.port}/`, token });
    assert.equal((await byToken.describeRoom(room)).room, room);
    const put = await byToken.putRoom("ops-put", { max_seat_count: 3 });
    assert.equal(put.settings.max_seat_count, 3);
    assert.equal((await byToken.putRoom("ops-put2")).room, "ops-put2");

    await admin.closeRoom(room);
    const gone = await adminError(admin.getRoom(room));
    assert.deepEqual([gone.status, gone.code, gone.codeName], [404, ErrorCode.ROOM_ID_NOT_EXIST, "ROOM_ID_NOT_EXIST"]);
  });

  test("a token limited to one room reaches that room only", async () => {
    await admin.createRoom({ room_id: "scoped-a" });
    await admin.createRoom({ room_id: "scoped-b" });
    const token = await createToken({ userID: "ops", role: "audience", admin: true, room: "scoped-a" }, server.secret);
    const scoped = new AdminClient({ url: `http://127.0.0.1:${server.port}`, token });
    assert.deepEqual((await scoped.listRooms()).rooms, ["scoped-a"]);
    assert.equal((await scoped.getSeats("scoped-a")).seats.length > 0, true);
    const refused = await adminError(scoped.getRoom("scoped-b"));
    assert.deepEqual([refused.status, refused.code], [403, ErrorCode.WRONG_ROOM]);
  });

  test("refusals and failures carry a code", async () => {
    const noKey = new AdminClient({ url: `http://127.0.0.1:${server.port}` });
    const e = await adminError(noKey.listRooms());
    assert.deepEqual([e.status, e.code], [401, ErrorCode.UNAUTHENTICATED]);
    const wrong = new AdminClient({ url: `http://127.0.0.1:${server.port}`, apiKey: "wrong" });
    assert.equal((await adminError(wrong.listRooms())).status, 401);
    assert.equal((await adminError(admin.pickSeat("nowhere", { user_id: "x", seat_index: 1 }))).code, ErrorCode.ROOM_ID_NOT_EXIST);
    // Nothing listens on port 1.
    const down = new AdminClient({ url: "http://127.0.0.1:1", apiKey: "k" });
    const unreachable = await adminError(down.listRooms());
    assert.deepEqual([unreachable.status, unreachable.code], [0, AdminError.CONNECT_FAILED]);
    assert.throws(() => new AdminClient({ url: "ws://127.0.0.1:7700" }), TypeError);
  });
});

describe("createToken", () => {
  let server: TestServer;
  before(async () => {
    server = await TestServer.start();
  });
  after(async () => {
    await server.stop();
  });

  test("mints what the server accepts, with the claims of `coguest token`", async () => {
    const token = await createToken({ userID: "host_1", role: "owner", room: "minted", name: "Host", ttl: 600 }, server.secret);
    const c = await Client.connect(server.url, token);
    try {
      const store = await CoGuestStore.create(c, "minted");
      await waitFor(store.coGuestState.connected, "owner on seat 0", (l) => l.some((u) => u.userID === "host_1"));
      assert.equal(await errorCode(CoGuestStore.create(c, "elsewhere")), ErrorCode.WRONG_ROOM);
    } finally {
      c.close();
    }
    const cli = claimsOf(server.token("host_1", "owner", { room: "minted", name: "Host", ttl: 600 }));
    const ours = claimsOf(token);
    assert.ok(Math.abs(Number(ours.exp) - Number(cli.exp)) <= 5);
    delete ours.exp;
    delete cli.exp;
    assert.deepEqual(ours, cli);
  });

  test("a token signed with another secret or expired is refused; a ttl of 0 is not minted", async () => {
    const forged = await createToken({ userID: "x", role: "audience" }, "not-the-secret");
    assert.equal(await errorCode(Client.connect(server.url, forged, { requestTimeoutMs: 5_000 })), ErrorCode.UNAUTHENTICATED);
    await assert.rejects(createToken({ userID: "x", role: "audience", ttl: 0 }, server.secret), RangeError);
    await assert.rejects(createToken({ userID: "", role: "audience" }, server.secret), RangeError);
  });
});

describe("verifyWebhook", () => {
  const secret = randomBytes(16).toString("hex");
  let server: TestServer;
  let hook: Awaited<ReturnType<typeof endpoint>>;
  before(async () => {
    hook = await endpoint(async () => [200, {}]);
    server = await TestServer.start(["--webhook", hook.url, "--webhook-secret", secret]);
  });
  after(async () => {
    await server.stop();
    await closeHttp(hook.server);
  });

  test("accepts what the server sent; refuses forged, re-signed and replayed deliveries", async () => {
    const [c] = await server.member("hooked", "host_1", "owner");
    c.close();
    await eventually("a member_joined delivery", () => hook.received.some((r) => r.body.includes('"member_joined"')));
    const events: WebhookEvent[] = [];
    for (const r of hook.received) events.push(await verifyWebhook(r.body, r.headers, secret));
    const joined = events.find((e) => e.type === "member_joined");
    assert.equal(joined?.room, "hooked");
    assert.equal(joined?.data.user_id, "host_1");
    // A fetch `Headers` and bytes work too.
    const first = hook.received[0];
    assert.ok(first !== undefined);
    const headers = new Headers(Object.entries(first.headers).map(([k, v]) => [k, String(v)] as [string, string]));
    assert.equal((await verifyWebhook(new TextEncoder().encode(first.body), headers, secret)).id, events[0]?.id);

    const reason = async (p: Promise<unknown>): Promise<string> => {
      try {
        await p;
      } catch (e) {
        assert.ok(e instanceof SignatureError, String(e));
        return e.reason;
      }
      return "accepted";
    };
    const forged = first.body.replace('"hooked"', '"other"');
    assert.equal(await reason(verifyWebhook(forged, first.headers, secret)), "bad_signature");
    assert.equal(await reason(verifyWebhook(first.body, first.headers, "another-secret")), "bad_signature");
    // The same body with another timestamp keeps the old signature: refused.
    const moved = { ...first.headers, "coguest-timestamp": String(Date.now()) };
    assert.equal(await reason(verifyWebhook(first.body, moved, secret)), "bad_signature");
    // Replayed ten minutes later.
    const later = Number(first.headers["coguest-timestamp"]) + 600_000;
    assert.equal(await reason(verifyWebhook(first.body, first.headers, secret, { now: later })), "stale_timestamp");
    assert.equal(await reason(verifyWebhook(first.body, first.headers, secret, { now: later, toleranceMs: 700_000 })), "accepted");
    assert.equal(await reason(verifyWebhook(first.body, { "coguest-timestamp": "1" }, secret)), "missing_header");
  });
});

describe("verifyApproval", () => {
  const secret = randomBytes(16).toString("hex");
  let server: TestServer;
  let hook: Awaited<ReturnType<typeof endpoint>>;
  const asked: string[] = [];
  before(async () => {
    hook = await endpoint(async (r) => {
      let answer: ApprovalResponse;
      try {
        const q = await verifyApproval(r.body, r.headers, secret);
        asked.push(`${q.kind} ${q.user.user_id}`);
        answer = q.user.user_id === "banned" ? { allow: false, code: 4031, reason: "banned from this room" } : { allow: true };
      } catch (e) {
        return [401, { error: String(e) }];
      }
      return [200, answer];
    });
    server = await TestServer.start(["--approve-url", hook.url, "--approve-secret", secret]);
  });
  after(async () => {
    await server.stop();
    await closeHttp(hook.server);
  });

  test("a hook built on it allows and denies real questions", async () => {
    const [owner, host] = await server.member("approved", "host_1", "owner");
    const [fan, fanStore] = await server.member("approved", "fan", "audience");
    const [bad, badStore] = await server.member("approved", "banned", "audience");
    try {
      await fanStore.applyForSeat({ timeout: 30 });
      await waitFor(host.coGuestState.applicants, "fan applied", (l) => l.some((u) => u.userID === "fan"));
      let denied: unknown;
      try {
        await badStore.applyForSeat({ timeout: 30 });
      } catch (e) {
        denied = e;
      }
      const d = denied as { code?: number; appCode?: number; reason?: string };
      assert.deepEqual([d.code, d.appCode, d.reason], [ErrorCode.APPROVAL_DENIED, 4031, "banned from this room"]);
      assert.deepEqual(asked, ["apply fan", "apply banned"]);
    } finally {
      for (const c of [owner, fan, bad]) c.close();
    }
  });
});
