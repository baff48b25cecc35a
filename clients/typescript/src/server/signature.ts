/**
 * {@link verifyWebhook} and {@link verifyApproval}: check that a webhook delivery or an approval
 * question came from the server, as `docs/WEBHOOKS.md` ("Verifying a signature") describes and
 * `crates/coguest-server/src/webhook.rs` (`sign`, `verify`) implements.
 * @module
 */

import type { ApprovalRequest, WebhookEvent } from "../wire.js";

/** Request headers: a fetch `Headers`, or Node's `IncomingMessage.headers` (lower-case names). */
export type HeadersLike = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** How strict a check is. */
export interface VerifyOptions {
  /**
   * The largest difference, in ms, between `Coguest-Timestamp` and `now` (default 300 000, five
   * minutes): an older signed request is a replay.
   */
  toleranceMs?: number;
  /** The time to check against, Unix ms (default `Date.now()`). */
  now?: number;
}

/** Why a request was not accepted as the server's. */
export type SignatureFailure = "missing_header" | "bad_signature" | "stale_timestamp" | "malformed_body";

/** A webhook delivery or approval question that is not (provably) the server's: answer it 401 and ignore it. */
export class SignatureError extends Error {
  /** What was wrong. */
  readonly reason: SignatureFailure;

  /** An error for `reason`. */
  constructor(reason: SignatureFailure, message: string) {
    super(message);
    this.name = "SignatureError";
    this.reason = reason;
  }
}

/**
 * The webhook event of a delivery, once its `Coguest-Signature` proves the server sent it with
 * `secret` (`--webhook-secret`) and its `Coguest-Timestamp` is within `toleranceMs` of now.
 * `body` is the raw request body, exactly as received (not re-serialized JSON).
 *
 * @throws SignatureError when a header is missing, the signature does not match, the timestamp
 *   is too far from now (a replay), or the verified body is not an event.
 */
export async function verifyWebhook(
  body: string | Uint8Array,
  headers: HeadersLike,
  secret: string | Uint8Array,
  options: VerifyOptions = {},
): Promise<WebhookEvent> {
  return (await verifySigned(body, headers, secret, options)) as WebhookEvent;
}

/**
 * The approval question of a request from the server's approval hook, once its signature proves
 * the server sent it with `secret` (`--approve-secret`) and it is recent; answer it with an
 * `ApprovalResponse` (`{"allow": true}` or `{"allow": false, "code": ..., "reason": ...}`).
 *
 * @throws SignatureError as {@link verifyWebhook}.
 */
export async function verifyApproval(
  body: string | Uint8Array,
  headers: HeadersLike,
  secret: string | Uint8Array,
  options: VerifyOptions = {},
): Promise<ApprovalRequest> {
  return (await verifySigned(body, headers, secret, options)) as ApprovalRequest;
}

const encoder = new TextEncoder();

/** The JSON object of a signed body, once the signature and the timestamp check out. */
async function verifySigned(
  body: string | Uint8Array,
  headers: HeadersLike,
  secret: string | Uint8Array,
  options: VerifyOptions,
): Promise<object> {
  const timestamp = header(headers, "coguest-timestamp");
  const signature = header(headers, "coguest-signature");
  if (timestamp === undefined || signature === undefined) {
    throw new SignatureError("missing_header", "the Coguest-Timestamp or Coguest-Signature header is missing");
  }
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  if (!(await signatureMatches(secret, timestamp, bytes, signature))) {
    throw new SignatureError("bad_signature", "the signature does not match the body (another secret, or a changed body)");
  }
  const sent = Number(timestamp);
  const now = options.now ?? Date.now();
  const tolerance = options.toleranceMs ?? 300_000;
  if (!/^\d+$/.test(timestamp) || Math.abs(now - sent) > tolerance) {
    throw new SignatureError("stale_timestamp", `signed at ${timestamp}, more than ${tolerance} ms from now (${now}): a replay?`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new SignatureError("malformed_body", "the signed body is not JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new SignatureError("malformed_body", "the signed body is not a JSON object");
  }
  return parsed;
}

/** A header's single value, by its lower-case name. */
function header(headers: HeadersLike, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (key.toLowerCase() !== name) continue;
    return typeof value === "string" ? value : value?.[0];
  }
  return undefined;
}

/**
 * Whether `header` is `v1=` and the hex HMAC-SHA256, keyed with `secret`, of `timestamp`, `.`
 * and the body; Web Crypto's `verify` compares in constant time.
 */
async function signatureMatches(
  secret: string | Uint8Array,
  timestamp: string,
  body: Uint8Array,
  header: string,
): Promise<boolean> {
  const hex = /^v1=([0-9a-f]{64})$/.exec(header)?.[1];
  if (hex === undefined) return false;
  const mac = new Uint8Array(32);
  for (let i = 0; i < 32; i++) mac[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const keyBytes = typeof secret === "string" ? encoder.encode(secret) : new Uint8Array(secret);
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const prefix = encoder.encode(`${timestamp}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);
  return crypto.subtle.verify("HMAC", key, mac, signed);
}
