// Unit tests of the room client's protocol handling (tessera-room.js), in
// Node with a scripted fake server behind a fake WebSocket and fake
// RTCPeerConnections: `node --test Tests/SDK/`. No npm packages.
import { test } from "node:test";
import assert from "node:assert/strict";

// ------------------------------------------------------------- the fakes

/** The server's side: answers each request with `handlers[method](params, socket)`. */
class FakeServer {
  constructor(handlers = {}) {
    this.handlers = {
      ping: () => ({ value: "pong" }),
      joinRoom: (p) => ({ value: [], sessionId: "s1", role: "moderator", room: { name: p.room, mode: p.mode || "sfu" } }),
      publishVideo: () => ({ sdpAnswer: "v=0 answer-publish" }),
      receiveVideoFrom: (p) => ({ sdpAnswer: `v=0 answer-${p.sender}` }),
      ...handlers,
    };
    this.sockets = [];
    this.requests = [];
  }
  /** Requests seen, by method. */
  sent(method) { return this.requests.filter((r) => r.method === method); }
  notify(method, params, socket = this.sockets.at(-1)) {
    socket.onmessage({ data: JSON.stringify({ jsonrpc: "2.0", method, params }) });
  }
}

let server;

class FakeWebSocket {
  constructor(url) {
    this.url = url;
    this.open = true;
    server.sockets.push(this);
    setTimeout(() => (server.refuse ? (this.onerror?.({}), this.onclose?.()) : this.onopen?.()), 0);
  }
  send(text) {
    const m = JSON.parse(text);
    m.socket = this;
    server.requests.push(m);
    const handler = server.handlers[m.method];
    setTimeout(() => {
      if (!this.open) return;
      let reply;
      try {
        const result = handler ? handler(m.params, this) : undefined;
        reply = handler ? { jsonrpc: "2.0", id: m.id, result } : { jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } };
      } catch (error) {
        reply = { jsonrpc: "2.0", id: m.id, error: { code: error.code, message: error.message } };
      }
      this.onmessage({ data: JSON.stringify(reply) });
    }, 0);
  }
  close() {
    if (!this.open) return;
    this.open = false;
    setTimeout(() => this.onclose?.(), 0);
  }
}

class FakeTrack {
  constructor(kind) { this.kind = kind; this.enabled = true; this.readyState = "live"; this.listeners = {}; }
  stop() { this.readyState = "ended"; }
  addEventListener(type, f) { this.listeners[type] = f; }
}

class FakeMediaStream {
  constructor(tracks = []) { this.tracks = [...tracks]; }
  addTrack(t) { this.tracks.push(t); }
  removeTrack(t) { this.tracks = this.tracks.filter((x) => x !== t); }
  getTracks() { return this.tracks; }
  getVideoTracks() { return this.tracks.filter((t) => t.kind === "video"); }
  getAudioTracks() { return this.tracks.filter((t) => t.kind === "audio"); }
}

const pcs = [];
class FakePeerConnection {
  constructor(config) { this.config = config; this.transceivers = []; this.candidates = []; this.closed = false; pcs.push(this); }
  addTransceiver(what, options) { this.transceivers.push({ what, options }); }
  getSenders() {
    return this.transceivers.filter((t) => typeof t.what !== "string").map((t) => ({
      get track() { return t.what; },
      async replaceTrack(track) { t.what = track; },
    }));
  }
  async createOffer() { return { type: "offer", sdp: `v=0 offer-${pcs.indexOf(this)}` }; }
  async setLocalDescription(d) { this.localDescription = d; }
  async setRemoteDescription(d) { this.remoteDescription = d; }
  async addIceCandidate(c) { this.candidates.push(c); }
  close() { this.closed = true; }
  /** What the browser does when media arrives. */
  deliver(kind) {
    const track = new FakeTrack(kind);
    this.ontrack({ track });
    return track;
  }
}

globalThis.WebSocket = FakeWebSocket;
globalThis.RTCPeerConnection = FakePeerConnection;
globalThis.MediaStream = FakeMediaStream;

const { Room, RoomError } = await import("../../Sources/TesseraServer/SDK/tessera-room.js");

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
async function until(check, ms = 3000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) { if (check()) return true; await tick(); }
  return check();
}
function events(room, ...types) {
  const seen = [];
  for (const t of types) room.addEventListener(t, (e) => seen.push({ type: t, ...e.detail }));
  return seen;
}
function fresh(handlers) {
  server = new FakeServer(handlers);
  pcs.length = 0;
}

// ---------------------------------------------------------------- tests

test("join: a keep-alive interval first, then joinRoom with the extensions; the participants already there become events", async () => {
  fresh({
    joinRoom: () => ({
      value: [{ id: "bob", streams: [{ id: "webcam" }] }, { id: "carol" }], sessionId: "s7", role: "publisher",
      room: { mode: "mcu", layout: { layout: "grid", tiles: [{ id: "bob", x: 0, y: 0, w: 1, h: 1 }] }, recording: { id: "r1" },
        speakers: ["bob"], dominantSpeaker: "bob" },
    }),
  });
  const room = new Room("ws://server/room", { room: "r", user: "ada", token: "t0k" });
  const seen = events(room, "participantJoined", "streamPublished");
  await room.connect();
  const [ping, join] = server.requests;
  assert.equal(ping.method, "ping");
  assert.deepEqual(ping.params, { interval: 3000 });
  assert.equal(join.method, "joinRoom");
  assert.deepEqual(join.params.extensions, ["mode", "layout", "speaking", "mute", "recording", "streams", "cluster"]);
  assert.equal(join.params.token, "t0k");
  assert.deepEqual(seen.map((e) => `${e.type} ${e.participant.id}`), ["participantJoined bob", "streamPublished bob", "participantJoined carol"]);
  assert.equal(room.sessionId, "s7");
  assert.equal(room.role, "publisher");
  assert.equal(room.mode, "mcu");
  assert.equal(room.layout.tiles[0].id, "bob");
  assert.equal(room.recording.id, "r1");
  assert.equal(room.participants.get("bob").speaking, true);
  assert.equal(room.participants.get("carol").speaking, false);
  assert.equal(room.dominantSpeaker, "bob");
  // bob's stream is subscribed by itself, under the sender name the protocol uses.
  assert.ok(await until(() => server.sent("receiveVideoFrom").length === 1));
  assert.equal(server.sent("receiveVideoFrom")[0].params.sender, "bob_webcam");
  room.leaveLocally();
});

test("a server error rejects with a RoomError carrying the protocol's code", async () => {
  fresh({ joinRoom: () => { throw Object.assign(new Error("User 'ada' already exists in room 'r'"), { code: 104 }); } });
  const room = new Room("ws://server/room", { room: "r", user: "ada", reconnect: false });
  await assert.rejects(room.connect(), (error) => error instanceof RoomError && error.code === 104 && /already exists/.test(error.message));
  fresh({});
  const joined = await Room.join("ws://server/room", { room: "r", user: "ada", reconnect: false });
  await assert.rejects(joined.request("noSuchMethod", {}), (error) => error.code === -32601);
  server.handlers.setRoomMode = () => { throw Object.assign(new Error("not a moderator"), { code: 401 }); };
  await assert.rejects(joined.setMode("mcu"), (error) => error.code === 401);
  joined.leaveLocally();
});

test("a refused connection is a RoomError with code 0", async () => {
  fresh({});
  server.refuse = true;
  await assert.rejects(Room.join("ws://server/room", { room: "r", user: "ada", reconnect: false }), (error) => error instanceof RoomError && error.code === 0);
});

test("publish: offer sent, answer applied, ICE trickled both ways under the right names", async () => {
  fresh({});
  const room = await Room.join("ws://server/room", { room: "r", user: "ada", reconnect: false });
  const media = new FakeMediaStream([new FakeTrack("audio"), new FakeTrack("video")]);
  await room.publish({ stream: media });
  const pub = pcs[0];
  assert.equal(server.sent("publishVideo")[0].params.sdpOffer, pub.localDescription.sdp);
  assert.equal(pub.remoteDescription.sdp, "v=0 answer-publish");
  assert.deepEqual(pub.transceivers.map((t) => t.options.direction), ["sendonly", "sendonly"]);
  pub.onicecandidate({ candidate: { candidate: "candidate:1 1 udp 1 10.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 } });
  await until(() => server.sent("onIceCandidate").length === 1);
  assert.equal(server.sent("onIceCandidate")[0].params.endpointName, "ada");
  server.notify("iceCandidate", { endpointName: "ada", candidate: "candidate:2", sdpMid: "0", sdpMLineIndex: 0 });
  await tick();
  assert.equal(pub.candidates[0].candidate, "candidate:2");
  // A second publish of the same stream is refused locally with the server's code.
  await assert.rejects(room.publish({ stream: media }), (error) => error.code === 302);
  room.leaveLocally();
});

test("notifications: published streams are subscribed, candidates reach their subscription, people leave", async () => {
  fresh({});
  const room = await Room.join("ws://server/room", { room: "r", user: "ada", reconnect: false });
  const seen = events(room, "participantJoined", "trackAdded", "trackRemoved", "participantLeft", "message", "modeChanged", "layoutChanged", "activeSpeaker", "recording");
  server.notify("participantJoined", { id: "bob" });
  server.notify("participantPublished", { id: "bob", streams: [{ id: "webcam" }] });
  assert.ok(await until(() => pcs.length === 1 && pcs[0].remoteDescription));
  const sub = pcs[0];
  assert.equal(sub.remoteDescription.sdp, "v=0 answer-bob_webcam");
  assert.deepEqual(sub.transceivers.map((t) => [t.what, t.options.direction]), [["video", "recvonly"], ["audio", "recvonly"]]);
  server.notify("iceCandidate", { endpointName: "bob", candidate: "candidate:9", sdpMid: "0", sdpMLineIndex: 0 });
  await tick();
  assert.equal(sub.candidates[0].candidate, "candidate:9");
  sub.deliver("video");
  server.notify("sendMessage", { user: "bob", message: "<b>hi</b>", room: "r" });
  server.notify("roomModeChanged", { mode: "mcu", phase: "completed" });
  server.notify("layoutChanged", { layout: "speaker", revision: 4, canvas: { width: 1280, height: 720 }, tiles: [{ id: "bob", key: "bob", x: 0, y: 0, w: 1, h: 1 }] });
  server.notify("dominantSpeakerChanged", { id: "bob", previous: null });
  server.notify("recordingStarted", { id: "rec1", name: "r" });
  server.notify("participantLeft", { name: "bob" });
  await tick();
  const types = seen.map((e) => e.type);
  assert.deepEqual(types, ["participantJoined", "trackAdded", "message", "modeChanged", "layoutChanged", "activeSpeaker", "recording", "trackRemoved", "participantLeft"]);
  assert.equal(seen.find((e) => e.type === "message").text, "<b>hi</b>");
  assert.equal(seen.find((e) => e.type === "layoutChanged").canvas.width, 1280);
  assert.equal(room.mode, "mcu");
  assert.equal(room.recording.id, "rec1");
  assert.ok(sub.closed);
  assert.equal(room.participants.size, 0);
  room.leaveLocally();
});

test("make-before-break: a new subscription to the same sender keeps the old one until its media comes", async () => {
  fresh({});
  const room = await Room.join("ws://server/room", { room: "r", user: "ada", reconnect: false, autoSubscribe: false });
  const seen = events(room, "trackAdded", "trackRemoved");
  await room.subscribe("bob");
  const old = pcs[0];
  old.deliver("audio");
  await room.subscribe("bob");
  const replacement = pcs[1];
  assert.equal(old.closed, false, "the old PeerConnection stays while the new one has no media");
  const track = replacement.deliver("audio");
  track.onunmute();
  assert.equal(old.closed, true);
  const removed = seen.filter((e) => e.type === "trackRemoved");
  assert.equal(removed.length, 1);
  assert.equal(removed[0].replaced, true);
  room.leaveLocally();
});

test("mute: the request first, then the local track; a refusal leaves it as it was", async () => {
  fresh({ streamPropertyChanged: () => ({}) });
  const room = await Room.join("ws://server/room", { room: "r", user: "ada", reconnect: false });
  const audio = new FakeTrack("audio");
  await room.publish({ stream: new FakeMediaStream([audio]) });
  await room.mute("audio");
  assert.deepEqual(server.sent("streamPropertyChanged")[0].params, { streamId: "webcam", property: "audioActive", newValue: false });
  assert.equal(audio.enabled, false);
  server.handlers.streamPropertyChanged = () => { throw Object.assign(new Error("muted by a moderator"), { code: 307 }); };
  await assert.rejects(room.unmute("audio"), (error) => error.code === 307);
  assert.equal(audio.enabled, false);
  // A moderator's mute of someone else names them as the protocol's `target`.
  server.handlers.muteParticipant = () => ({});
  await room.muteParticipant("bob", "audio");
  assert.deepEqual(server.sent("muteParticipant")[0].params, { target: "bob", kind: "audio", muted: true });
  room.leaveLocally();
});

test("replaceTrack: another camera without renegotiation, the old one stopped, mute kept", async () => {
  fresh({ streamPropertyChanged: () => ({}) });
  const room = await Room.join("ws://server/room", { room: "r", user: "ada", reconnect: false });
  const [mic, camera] = [new FakeTrack("audio"), new FakeTrack("video")];
  await room.publish({ stream: new FakeMediaStream([mic, camera]) });
  await room.mute("video");
  const other = new FakeTrack("video");
  await room.replaceTrack(other);
  assert.equal(pcs[0].getSenders().find((s) => s.track.kind === "video").track, other);
  assert.equal(camera.readyState, "ended");
  assert.equal(other.enabled, false, "a muted camera stays muted");
  assert.deepEqual(room.localStream.getTracks(), [mic, other]);
  assert.equal(server.sent("publishVideo").length, 1, "no new offer");
  await assert.rejects(new Room("ws://x", { room: "r", user: "b" }).replaceTrack(other), (e) => e.code === 105);
  room.leaveLocally();
});

test("a dropped socket resumes the session with connect {sessionId}", async () => {
  fresh({ connect: (p) => ({ sessionId: p.sessionId }) });
  const room = await Room.join("ws://server/room", { room: "r", user: "ada" });
  const seen = events(room, "disconnected", "reconnecting", "reconnected");
  server.sockets[0].close();
  assert.ok(await until(() => seen.some((e) => e.type === "reconnected")));
  assert.deepEqual(server.sent("connect")[0].params, { sessionId: "s1" });
  assert.deepEqual(seen.map((e) => e.type), ["disconnected", "reconnecting", "reconnected"]);
  assert.equal(seen[2].resumed, true);
  assert.equal(server.sent("joinRoom").length, 1, "no second join");
  room.leaveLocally();
});

test("a session the server forgot (a restart) is joined again from scratch, media published again", async () => {
  fresh({ connect: () => { throw Object.assign(new Error("Session not found"), { code: 40007 }); } });
  const room = await Room.join("ws://server/room", { room: "r", user: "ada" });
  await room.publish({ stream: new FakeMediaStream([new FakeTrack("audio")]) });
  const seen = events(room, "reconnected");
  server.sockets[0].close();
  assert.ok(await until(() => seen.length === 1));
  assert.equal(seen[0].resumed, false);
  assert.equal(server.sent("joinRoom").length, 2);
  assert.equal(server.sent("publishVideo").length, 2);
  assert.ok(pcs[0].closed, "the old publisher is closed");
  room.leaveLocally();
});

test("leave: leaveRoom sent, everything closed, no reconnection", async () => {
  fresh({ leaveRoom: () => ({}) });
  const room = await Room.join("ws://server/room", { room: "r", user: "ada" });
  const seen = events(room, "reconnecting");
  await room.publish({ stream: new FakeMediaStream([new FakeTrack("video")]) });
  await room.leave();
  assert.equal(server.sent("leaveRoom").length, 1);
  assert.ok(pcs[0].closed);
  await tick(400);
  assert.equal(seen.length, 0);
});
