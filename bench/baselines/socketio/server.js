// The co-guest flow (apply / invite / accept / reject / cancel / leave seat / kick) written the
// straightforward socket.io 4 way: rooms for fan-out, acknowledgement callbacks for answers,
// state in memory. It speaks coguest's message shapes inside socket.io packets so that
// `coguest bench --target socketio` drives it with the same load as coguest.
//
//   node server.js PORT
//
// Identity comes from the handshake (`auth: {user, role}`); there is no token check and no
// persistence (coguest verifies a JWT per connection and commits every change to SQLite first).
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 3000);
const SEATS = 9;
const MAX_CANDIDATES = 100;

const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false, transports: ['websocket'] });

const rooms = new Map();

function getRoom(id) {
  let room = rooms.get(id);
  if (!room) {
    room = {
      id,
      version: 0,
      nextRequest: 1,
      seats: new Array(SEATS).fill(null),
      members: new Map(), // user -> {user_id, user_name, avatar_url, role}
      applications: new Map(), // user -> {request_id, seat_index}
      invitations: new Map(), // invitee -> {inviter_id, request_id, seat_index}
      candidates: 0,
    };
    rooms.set(id, room);
  }
  return room;
}

const isHost = (m) => m && (m.role === 'owner' || m.role === 'admin');
const info = (m) => ({ user_id: m.user_id, user_name: m.user_name, avatar_url: m.avatar_url });
const err = (code, message) => ({ t: 'error', code, message });

function connected(room) {
  const list = [];
  room.seats.forEach((u, i) => {
    if (u) {
      const m = room.members.get(u);
      list.push({ seat_index: i, ...info(m), role: m.role });
    }
  });
  return list;
}

function toUser(room, user, msg) {
  io.to(`${room.id}/u/${user}`).emit('msg', msg);
}
function toHosts(room, msg) {
  io.to(`${room.id}/hosts`).emit('msg', msg);
}
function event(room, event) {
  return { t: 'event', room: room.id, version: room.version, event };
}
function change(room, change) {
  return { t: 'change', room: room.id, version: room.version, change };
}
function seatList(room) {
  const list = [];
  for (let i = 0; i < SEATS; i++) {
    const u = room.seats[i];
    if (u) {
      const m = room.members.get(u);
      list.push({ seat_index: i, user: { seat_index: i, ...info(m), role: m.role } });
    } else {
      list.push({ seat_index: i });
    }
  }
  return list;
}
function seatsChanged(room) {
  io.to(room.id).emit('msg', change(room, { type: 'seats', seats: seatList(room) }));
}
function freeSeat(room, wanted) {
  if (wanted > 0) {
    return room.seats[wanted] ? -1 : wanted;
  }
  for (let i = 1; i < SEATS; i++) if (!room.seats[i]) return i;
  return -1;
}
function seatOf(room, user) {
  return room.seats.indexOf(user);
}
function ack(room, extra) {
  return { t: 'ack', room: room.id, version: room.version, ...extra };
}

io.on('connection', (socket) => {
  const auth = socket.handshake.auth || {};
  const me = String(auth.user || socket.id);
  const role = auth.role === 'owner' || auth.role === 'admin' ? auth.role : 'audience';
  const joined = new Set();

  // Every room command: the room must exist and this socket must have joined it.
  const on = (cmd, handler) => {
    socket.on(cmd, (data, reply) => {
      if (typeof reply !== 'function') return;
      const room = data && rooms.get(data.room);
      if (!room || !joined.has(room.id)) return reply(err(-2101, 'join the room first'));
      reply(handler(room, room.members.get(me), data));
    });
  };

  socket.on('join', (data, reply) => {
    if (!data || typeof data.room !== 'string') return reply && reply(err(-1001, 'room'));
    const room = getRoom(data.room);
    if (!room.members.has(me)) {
      room.members.set(me, { user_id: me, user_name: me, avatar_url: '', role });
      room.version++;
      if (role === 'owner' && !room.seats[0]) {
        room.seats[0] = me;
        seatsChanged(room);
      } else if (room.candidates < MAX_CANDIDATES) {
        room.candidates++;
        toHosts(room, change(room, { type: 'candidate_added', user: info(room.members.get(me)) }));
      }
    }
    joined.add(room.id);
    socket.join(room.id);
    socket.join(`${room.id}/u/${me}`);
    if (role !== 'audience') socket.join(`${room.id}/hosts`);
    socket.emit('msg', {
      t: 'snapshot',
      room: room.id,
      state: { version: room.version, connected: connected(room), invitees: [], applicants: [], candidates: [] },
    });
    if (reply) reply(ack(room, {}));
  });

  on('apply_for_seat', (room, m, data) => {
    if (seatOf(room, me) >= 0) return err(-2341, 'already seated');
    if (room.applications.has(me)) return err(-2312, 'already applying');
    const request_id = room.nextRequest++;
    room.applications.set(me, { request_id, seat_index: data.seat_index });
    room.version++;
    toHosts(room, event(room, {
      type: 'guest_application_received', guest_user: info(m), request_id,
      seat_index: data.seat_index, extra_info: data.extra_info || '',
    }));
    toHosts(room, change(room, { type: 'applicant_added', applicant: { user: info(m), request_id, seat_index: data.seat_index } }));
    return ack(room, { request_id });
  });

  on('cancel_application', (room, m) => {
    if (!room.applications.delete(me)) return err(-2311, 'no application');
    room.version++;
    toHosts(room, event(room, { type: 'guest_application_cancelled', guest_user: info(m) }));
    toHosts(room, change(room, { type: 'applicant_removed', user_id: me }));
    return ack(room, {});
  });

  const answerApplication = (accept) => (room, m, data) => {
    if (!isHost(m)) return err(-2301, 'hosts only');
    const app = room.applications.get(data.user_id);
    if (!app) return err(-2311, 'no application');
    let seat = -1;
    if (accept) {
      seat = freeSeat(room, app.seat_index);
      if (seat < 0) return err(-2346, 'all seats taken');
    }
    room.applications.delete(data.user_id);
    room.version++;
    if (accept) {
      room.seats[seat] = data.user_id;
      closeInvitationOf(room, data.user_id);
    }
    toUser(room, data.user_id, event(room, { type: 'guest_application_responded', is_accept: accept, host_user: info(m) }));
    socket.to(`${room.id}/hosts`).emit('msg', event(room, {
      type: 'guest_application_processed_by_other_host', guest_user: info(room.members.get(data.user_id)), host_user: info(m),
    }));
    toHosts(room, change(room, { type: 'applicant_removed', user_id: data.user_id }));
    if (accept) seatsChanged(room);
    return ack(room, {});
  };
  on('accept_application', answerApplication(true));
  on('reject_application', answerApplication(false));

  function closeInvitationOf(room, user) {
    const inv = room.invitations.get(user);
    if (!inv) return;
    room.invitations.delete(user);
    toUser(room, inv.inviter_id, event(room, {
      type: 'host_invitation_no_response', guest_user: info(room.members.get(user)), reason: 'already_seated',
    }));
    toHosts(room, change(room, { type: 'invitee_removed', user_id: user, inviter_id: inv.inviter_id }));
  }

  on('invite_to_seat', (room, m, data) => {
    if (!isHost(m)) return err(-2301, 'hosts only');
    const invitee = room.members.get(data.invitee_id);
    if (!invitee) return err(-2201, 'not in the room');
    if (seatOf(room, data.invitee_id) >= 0) return err(-2341, 'already seated');
    if (room.invitations.has(data.invitee_id)) return err(-2312, 'already invited');
    const request_id = room.nextRequest++;
    room.invitations.set(data.invitee_id, { inviter_id: me, request_id, seat_index: data.seat_index });
    room.version++;
    toUser(room, data.invitee_id, event(room, {
      type: 'host_invitation_received', host_user: info(m), request_id, seat_index: data.seat_index, extra_info: data.extra_info || '',
    }));
    toHosts(room, change(room, { type: 'invitee_added', invitee: { user: info(invitee), inviter_id: me, request_id, seat_index: data.seat_index } }));
    return ack(room, { request_id });
  });

  on('cancel_invitation', (room, m, data) => {
    const inv = room.invitations.get(data.invitee_id);
    if (!inv || inv.inviter_id !== me) return err(-2311, 'no invitation');
    room.invitations.delete(data.invitee_id);
    room.version++;
    toUser(room, data.invitee_id, event(room, { type: 'host_invitation_cancelled', host_user: info(m) }));
    toHosts(room, change(room, { type: 'invitee_removed', user_id: data.invitee_id, inviter_id: me }));
    return ack(room, {});
  });

  const answerInvitation = (accept) => (room, m, data) => {
    const inv = room.invitations.get(me);
    if (!inv || inv.inviter_id !== data.inviter_id) return err(-2311, 'no invitation');
    let seat = -1;
    if (accept) {
      seat = freeSeat(room, inv.seat_index);
      if (seat < 0) return err(-2346, 'all seats taken');
    }
    room.invitations.delete(me);
    room.version++;
    if (accept) {
      room.seats[seat] = me;
      if (room.applications.delete(me)) {
        toHosts(room, change(room, { type: 'applicant_removed', user_id: me }));
      }
    }
    toUser(room, inv.inviter_id, event(room, { type: 'host_invitation_responded', is_accept: accept, guest_user: info(m) }));
    toHosts(room, change(room, { type: 'invitee_removed', user_id: me, inviter_id: inv.inviter_id }));
    if (accept) seatsChanged(room);
    return ack(room, {});
  };
  on('accept_invitation', answerInvitation(true));
  on('reject_invitation', answerInvitation(false));

  // `disconnect` is reserved by socket.io: the command is `leave_seat` here.
  on('leave_seat', (room) => {
    const seat = seatOf(room, me);
    if (seat < 0) return err(-2345, 'not seated');
    if (seat === 0 && role === 'owner') return err(-3022, 'the owner stays on seat 0');
    room.seats[seat] = null;
    room.version++;
    seatsChanged(room);
    return ack(room, {});
  });

  on('kick_off_seat', (room, m, data) => {
    if (!isHost(m)) return err(-2301, 'hosts only');
    const seat = seatOf(room, data.user_id);
    if (seat < 0) return err(-2345, 'not seated');
    room.seats[seat] = null;
    room.version++;
    toUser(room, data.user_id, event(room, { type: 'kicked_off_seat', seat_index: seat, host_user: info(m) }));
    seatsChanged(room);
    return ack(room, {});
  });
});

httpServer.listen(port, '127.0.0.1', () => {
  console.log(`socket.io baseline listening on 127.0.0.1:${port}`);
});
