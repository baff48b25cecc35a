// Token lifetime: a client whose token expires is closed with -3011; `updateToken` renews it on
// the open connection (`update_token`) and for later reconnects. Tokens live 3 s here.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Client, CoGuestStore, ErrorCode } from "../src/index.js";
import { Proxy, TestServer, errorCode, sleep, waitFor } from "./support.js";

describe("token renewal", () => {
  let server: TestServer;
  let proxy: Proxy;
  const clients: Client[] = [];
  before(async () => {
    server = await TestServer.start();
    proxy = await Proxy.start(server.port);
  });
  after(async () => {
    for (const c of clients) c.close();
    await proxy.stop();
    await server.stop();
  });
  /** A client with this token (through `url`), reconnecting quickly. */
  const connect = async (token: string, url = server.url): Promise<Client> => {
    const c = await Client.connect(url, token, { backoffInitialMs: 20, backoffMaxMs: 80 });
    clients.push(c);
    return c;
  };
  const shortLived = (user: string): string => server.token(user, "audience", { ttl: 3 });

  test("an expiring token closes the client with -3011 unless renewed in time", async () => {
    const room = "token-expiry";
    const [keep, lapse] = await Promise.all([connect(shortLived("keep")), connect(shortLived("lapse"))]);
    const keepStore = await CoGuestStore.create(keep, room);
    const lapseStore = await CoGuestStore.create(lapse, room);
    const expiresAt = keep.tokenExpiresAt;
    assert.ok(expiresAt !== null && expiresAt > Date.now());

    await keep.updateToken(server.token("keep", "audience", { ttl: 3600 }));
    assert.ok((keep.tokenExpiresAt ?? 0) > expiresAt + 3_000_000);

    await waitFor(lapse.status, "the lapsed client closed", (s) => s === "closed", 6000);
    assert.equal(lapse.closeError?.code, ErrorCode.TOKEN_EXPIRED);
    assert.equal(await errorCode(lapseStore.applyForSeat({ timeout: 30 })), ErrorCode.TOKEN_EXPIRED);

    // Past the first token's expiry (and the server's once-a-second sweep), the renewed one lives on.
    await sleep(Math.max(0, expiresAt + 1500 - Date.now()));
    assert.equal(keep.status.value, "connected");
    await keepStore.applyForSeat({ timeout: 30 });
    assert.equal(keep.closeError, null);
  });

  test("a token for someone else, or refused by the server, changes nothing", async () => {
    const c = await connect(server.token("dora", "audience"));
    const store = await CoGuestStore.create(c, "token-refused");
    assert.equal(await errorCode(c.updateToken(server.token("eve", "audience"))), ErrorCode.TOKEN_MISMATCH);
    assert.equal(await errorCode(c.updateToken(server.token("dora", "owner"))), ErrorCode.TOKEN_MISMATCH);
    assert.equal(await errorCode(c.updateToken(server.token("dora", "audience", { room: "x" }))), ErrorCode.TOKEN_MISMATCH);
    assert.equal(await errorCode(c.updateToken("not a jwt")), ErrorCode.UNAUTHENTICATED);
    // Checked by the server: signed with another secret, or already expired.
    const other = await TestServer.start();
    try {
      assert.equal(await errorCode(c.updateToken(other.token("dora", "audience"))), ErrorCode.UNAUTHENTICATED);
    } finally {
      await other.stop();
    }
    const expired = server.token("dora", "audience", { ttl: 1 });
    await sleep(1100);
    assert.equal(await errorCode(c.updateToken(expired)), ErrorCode.TOKEN_EXPIRED);
    assert.equal(c.status.value, "connected");
    await store.applyForSeat({ timeout: 30 });
    // A good one is still accepted after the refusals.
    await c.updateToken(server.token("dora", "audience", { ttl: 600 }));
  });

  test("renewed while disconnected: the reconnect uses the new token", async () => {
    const c = await connect(shortLived("fred"), proxy.url);
    const store = await CoGuestStore.create(c, "token-offline");
    const firstExpiry = c.tokenExpiresAt ?? 0;
    // Connections die before `welcome` until the first token has expired.
    proxy.swallowAnswers(true);
    proxy.cut();
    await waitFor(c.status, "reconnecting", (s) => s === "reconnecting");
    await sleep(Math.max(0, firstExpiry + 200 - Date.now()));
    const renewed = c.updateToken(server.token("fred", "audience", { ttl: 3600 }));
    proxy.swallowAnswers(false);
    await renewed;
    assert.equal(c.status.value, "connected");
    await store.applyForSeat({ timeout: 30 });
  });
});
