/**
 * `coguest-client/server`: coguest for an app's backend (Node 20 and later, or any runtime with
 * `fetch` and Web Crypto). Never ship it to browsers: it works with the server's secrets.
 *
 * - {@link AdminClient}: the admin HTTP API, typed from the server's OpenAPI document.
 * - {@link createToken}: tokens for your users, as `coguest token` mints them.
 * - {@link verifyWebhook} / {@link verifyApproval}: check that a webhook delivery or an approval
 *   question came from the server, and parse it.
 *
 * @example
 * ```ts
 * import { createToken, verifyWebhook } from "coguest-client/server";
 *
 * const token = await createToken({ userID: "user_456", role: "audience", room: "live_room_123" }, process.env.COGUEST_SECRET!);
 * // In the webhook endpoint, with the raw body:
 * const event = await verifyWebhook(rawBody, req.headers, process.env.WEBHOOK_SECRET!);
 * if (event.type === "seated") console.log(`${event.data.user_id} took a seat in ${event.room}`);
 * ```
 * @packageDocumentation
 */

export { AdminClient, AdminError } from "./admin.js";
export type { AdminClientOptions } from "./admin.js";
export { createToken } from "./token.js";
export type { TokenOptions } from "./token.js";
export { SignatureError, verifyApproval, verifyWebhook } from "./signature.js";
export type { HeadersLike, SignatureFailure, VerifyOptions } from "./signature.js";
export { ErrorCode } from "../error.js";
export type { ErrorCodeName } from "../error.js";
export type { OperationId, Operations } from "./openapi.js";
export type {
  AdminRequest,
  ChangeResult,
  CreateRoom,
  ErrorBody,
  KickRequest,
  MovePolicyName,
  MoveRequest,
  PickRequest,
  RequestsResponse,
  RoomList,
  RoomResponse,
  RoomSettings,
  RoomSettingsInput,
  SeatModeName,
  SeatsResponse,
  SettingsRequest,
} from "./openapi.js";
export type { ApprovalKind, ApprovalRequest, ApprovalResponse, WebhookEvent } from "../wire.js";
