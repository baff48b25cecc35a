/**
 * {@link createToken}: tokens for an app's backend to hand its users, with the claims of
 * `coguest token` (`crates/coguest-server/src/auth.rs`, `Claims`).
 * @module
 */

import { SignJWT } from "jose";
import type { Role } from "../wire.js";

/** Who a token is for and what it opens. */
export interface TokenOptions {
  /** The user id (`sub`). */
  userID: string;
  /** The user's role in the rooms the token opens. */
  role: Role;
  /** The only room the token opens (for an admin token: the only room it manages); every room when absent. */
  room?: string;
  /** Display name. */
  name?: string;
  /** Avatar URL. */
  avatar?: string;
  /** Lifetime in seconds, at least 1 (default a day, as `coguest token`). */
  ttl?: number;
  /** A service admin's token (`adm`): the admin API and observing rooms. */
  admin?: boolean;
}

/**
 * A token signed with the server's secret (HS256): what `coguest token` prints for the same
 * options, accepted by `Client.connect` and, with `admin`, by `AdminClient`.
 *
 * `secret` is the server's `COGUEST_SECRET`, or the content of `<data-dir>/secret`. Keep it on
 * the backend: whoever has it can mint any token.
 *
 * @throws RangeError when `ttl` is not a whole number of seconds of at least 1 (a token that has
 *   already expired) or `userID` is empty.
 */
export async function createToken(options: TokenOptions, secret: string | Uint8Array): Promise<string> {
  const ttl = options.ttl ?? 86_400;
  if (!Number.isInteger(ttl) || ttl < 1) {
    throw new RangeError(`ttl must be a whole number of seconds, at least 1 (got ${ttl})`);
  }
  if (options.userID === "") throw new RangeError("userID must not be empty");
  const claims: Record<string, unknown> = {
    sub: options.userID,
    name: options.name ?? "",
    avatar: options.avatar ?? "",
    role: options.role,
    exp: Math.floor(Date.now() / 1000) + ttl,
  };
  if (options.room !== undefined) claims.room = options.room;
  if (options.admin === true) claims.adm = true;
  const key = typeof secret === "string" ? new TextEncoder().encode(secret) : secret;
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
}
