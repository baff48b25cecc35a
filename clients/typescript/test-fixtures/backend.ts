// A backend consumer of the built package's server entry: `test/declarations.test.ts` typechecks
// it against dist/server/index.d.ts (the README's backend example), in a Node project.
import { createServer } from "node:http";
import { AdminClient, AdminError, ErrorCode, SignatureError, createToken, verifyApproval, verifyWebhook, type ApprovalResponse, type RoomResponse } from "../dist/server/index.js";
export async function main(secret: string): Promise<void> {
  const token: string = await createToken({ userID: "user_456", role: "audience", room: "live_room_123", name: "Bob", ttl: 3600 }, secret);
  const admin = new AdminClient({ url: "https://coguest.example.com", apiKey: "key" });
  const room: RoomResponse = await admin.createRoom({ room_id: "live_room_123", settings: { max_seat_count: 8 } });
  await admin.pickSeat(room.room, { user_id: "user_456", seat_index: 2 });
  const { applicants } = await admin.getRequests("live_room_123");
  try { await admin.lockSeat("live_room_123", 1); } catch (e) { if (e instanceof AdminError && e.code === ErrorCode.SEAT_LOCK_UNCHANGED) console.log(e.status); }
  console.log(token, applicants.length);
  createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      try {
        if (req.url === "/webhook") {
          const event = await verifyWebhook(Buffer.concat(chunks), req.headers, secret);
          console.log(event.type, event.room, event.data.user_id);
          res.end();
        } else {
          const q = await verifyApproval(Buffer.concat(chunks), req.headers, secret);
          const answer: ApprovalResponse = q.user.user_id === "banned" ? { allow: false, code: 1, reason: "banned" } : { allow: true };
          res.end(JSON.stringify(answer));
        }
      } catch (e) {
        res.statusCode = e instanceof SignatureError ? 401 : 500;
        res.end();
      }
    });
  });
}
