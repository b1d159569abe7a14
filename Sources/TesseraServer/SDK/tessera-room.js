// tessera-room.js: a browser client for Tessera's room API (docs/room-protocol.md).
// An ES module with no dependencies, served by the server at /sdk/tessera-room.js.
//
//   import { Room } from "/sdk/tessera-room.js";
//   const room = await Room.join("wss://media.example.com/room", { room: "standup", user: "ada" });
//   room.addEventListener("trackAdded", (e) => attach(e.detail.participant, e.detail.track));
//   await room.publish({ audio: true, video: true });
//
// To see the events of the join itself (the participants already there), make
// the Room first, listen, then connect:
//   const room = new Room(url, { room: "standup", user: "ada" });
//   room.addEventListener("participantJoined", ...);
//   await room.connect();
//
// Every request returns a promise; a server error rejects it with a RoomError
// carrying the room protocol's code (e.g. 401, 302, 309). Events are DOM
// events on the Room (an EventTarget), their data in `event.detail`.

const EXTENSIONS = ["mode", "layout", "speaking", "mute", "recording", "streams", "cluster"];

/** A refusal from the server: `code` is the room protocol's error code. */
export class RoomError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = "RoomError";
    this.code = code;
    this.data = data;
  }
}

/** One JSON-RPC 2.0 connection over a WebSocket. */
class Socket {
  constructor(url, onNotification, onClose) {
    this.url = url;
    this.nextId = 1;
    this.pending = new Map();
    this.onNotification = onNotification;
    this.onClose = onClose;
  }

  open(timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      const timer = setTimeout(() => { ws.close(); reject(new RoomError(0, `no connection to ${this.url}`)); }, timeoutMs);
      ws.onopen = () => { clearTimeout(timer); this.ws = ws; resolve(); };
      ws.onerror = () => { clearTimeout(timer); reject(new RoomError(0, `cannot connect to ${this.url}`)); };
      ws.onmessage = (e) => this.receive(e.data);
      ws.onclose = () => {
        clearTimeout(timer);
        for (const p of this.pending.values()) p.reject(new RoomError(0, `${p.method}: the connection closed`));
        this.pending.clear();
        if (this.ws === ws) { this.ws = null; this.onClose(); }
      };
    });
  }

  receive(text) {
    let m;
    try { m = JSON.parse(text); } catch { return; }
    if (m.id !== undefined && m.id !== null && !m.method) {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error) p.reject(new RoomError(m.error.code, `${p.method}: ${m.error.message}`, m.error.data));
      else p.resolve(m.result);
    } else if (m.method) {
      this.onNotification(m.method, m.params || {});
    }
  }

  request(method, params = {}, timeoutMs = 15000) {
    if (!this.ws) return Promise.reject(new RoomError(0, `${method}: not connected`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new RoomError(0, `${method}: no answer`)); }, timeoutMs);
      this.pending.set(id, { resolve, reject, method, timer });
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  close() {
    const ws = this.ws;
    this.ws = null;
    ws?.close();
  }
}

/** A participant as the room shows it. */
class Participant {
  constructor(id) {
    this.id = id;
    /** Stream id -> {id, source}. */
    this.streams = new Map();
    this.audioActive = true;
    this.videoActive = true;
    this.speaking = false;
  }
}

/** A room joined: its participants, your media, its events. */
export class Room extends EventTarget {
  /**
   * Connects to `url` (the server's room WebSocket) and joins.
   * options: {room, user, token, mode, extensions, iceServers, autoSubscribe (true), reconnect (true)}.
   */
  static async join(url, options) {
    const room = new Room(url, options);
    await room.connect();
    return room;
  }

  constructor(url, options) {
    super();
    this.url = url;
    this.options = { autoSubscribe: true, reconnect: true, iceServers: [], ...options };
    this.name = options.room;
    this.user = options.user;
    /** id -> Participant (others only). */
    this.participants = new Map();
    this.mode = null;
    this.layout = null;
    this.recording = null;
    this.dominantSpeaker = null;
    this.role = null;
    this.sessionId = null;
    this.localStream = null;
    this.publisher = null;
    /** Subscription key (sender "user_stream") -> {pc, participant, stream, media}. */
    this.subscriptions = new Map();
    /** Streams published beside the first (a screen): streamId -> {pc, media}. */
    this.extras = new Map();
    this.closed = false;
  }

  get pcConfig() { return { iceServers: this.options.iceServers }; }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  async connect() {
    this.socket = new Socket(this.url, (m, p) => this.notification(m, p), () => this.lost());
    await this.socket.open();
    await this.socket.request("ping", { interval: 3000 });
    this.keepalive = setInterval(() => this.socket.request("ping").catch(() => {}), 3000);
    const params = { user: this.user, room: this.name, extensions: this.options.extensions || EXTENSIONS };
    if (this.options.token) params.token = this.options.token;
    if (this.options.mode) params.mode = this.options.mode;
    let r;
    try {
      r = await this.socket.request("joinRoom", params);
    } catch (error) {
      // Refused: nothing is left running (keep-alive, socket). A closed Socket does not
      // report its own close, and refuses later requests with "not connected".
      clearInterval(this.keepalive);
      this.socket.close();
      throw error;
    }
    this.sessionId = r.sessionId;
    this.role = r.role;
    this.mode = r.room?.mode || "sfu";
    // A mixing room's current tiles and a recording already running, for a page that joins late.
    this.layout = r.room?.layout || null;
    this.recording = r.room?.recording || null;
    for (const peer of r.value || []) {
      const p = this.participant(peer.id);
      for (const s of peer.streams || []) this.published(p, s);
    }
    // Who speaks already (events only mark changes from here on).
    for (const id of r.room?.speakers || []) { const p = this.participants.get(id); if (p) p.speaking = true; }
    this.dominantSpeaker = r.room?.dominantSpeaker || null;
  }

  participant(id) {
    let p = this.participants.get(id);
    if (!p) {
      p = new Participant(id);
      this.participants.set(id, p);
      this.emit("participantJoined", { participant: p });
    }
    return p;
  }

  published(p, stream) {
    p.streams.set(stream.id, stream);
    this.emit("streamPublished", { participant: p, stream });
    if (this.options.autoSubscribe) this.subscribe(p.id, stream.id).catch((error) => this.emit("error", { error }));
  }

  notification(method, p) {
    switch (method) {
      case "participantJoined": this.participant(p.id); break;
      case "participantPublished": {
        const who = this.participant(p.id);
        for (const s of p.streams || []) if (!this.subscriptions.has(`${p.id}_${s.id}`)) this.published(who, s);
        break;
      }
      case "participantUnpublished": {
        const who = this.participants.get(p.name);
        const ids = p.streamId ? [p.streamId] : [...(who?.streams.keys() || [])];
        for (const id of ids) { who?.streams.delete(id); this.unsubscribed(`${p.name}_${id}`); }
        break;
      }
      case "participantLeft": {
        const who = this.participants.get(p.name);
        if (!who) break;
        for (const id of who.streams.keys()) this.unsubscribed(`${p.name}_${id}`);
        this.participants.delete(p.name);
        this.emit("participantLeft", { participant: who });
        break;
      }
      case "participantEvicted": this.emit("evicted", { reason: p.reason }); this.leaveLocally(); break;
      case "iceCandidate": this.candidate(p); break;
      case "sendMessage": this.emit("message", { from: p.user, text: p.message, room: p.room }); break;
      case "roomModeChanged":
        if (p.phase === "completed" || p.mode) this.mode = p.mode;
        this.emit("modeChanged", { mode: p.mode, phase: p.phase });
        break;
      case "layoutChanged": this.layout = p; this.emit("layoutChanged", { layout: p.layout, tiles: p.tiles || [], revision: p.revision, canvas: p.canvas }); break;
      case "dominantSpeakerChanged": this.dominantSpeaker = p.id || null; this.emit("activeSpeaker", { id: p.id, previous: p.previous }); break;
      case "participantSpeaking": {
        const who = this.participants.get(p.id);
        if (who) who.speaking = p.speaking;
        this.emit("speaking", { id: p.id, speaking: p.speaking, level: p.level });
        break;
      }
      case "streamPropertyChanged": {
        const who = p.id ? this.participants.get(p.id) : null;
        if (who && p.property in who) who[p.property] = p.newValue;
        this.emit("streamPropertyChanged", { id: p.id || this.user, streamId: p.streamId, property: p.property, value: p.newValue, reason: p.reason });
        break;
      }
      case "recordingStarted": case "recordingStopped":
        this.recording = method === "recordingStarted" ? p : null;
        this.emit("recording", { active: method === "recordingStarted", ...p });
        break;
      case "roomMoved": this.movedTo = p.url || null; this.emit("roomMoved", p); break;
      default: this.emit("notification", { method, params: p });
    }
  }

  candidate(p) {
    const name = p.endpointName;
    let pc = null;
    if (name === this.user || name === `${this.user}_webcam`) pc = this.publisher;
    else if (name.startsWith(`${this.user}_`) && this.extras.has(name.slice(this.user.length + 1))) pc = this.extras.get(name.slice(this.user.length + 1)).pc;
    else pc = this.subscriptions.get(p.streamId ? `${name}_${p.streamId}` : name)?.pc
      || this.subscriptions.get(name)?.pc || this.subscriptions.get(`${name}_webcam`)?.pc
      || [...this.subscriptions.values()].find((s) => s.participant === name)?.pc;
    pc?.addIceCandidate({ candidate: p.candidate, sdpMid: p.sdpMid, sdpMLineIndex: p.sdpMLineIndex }).catch(() => {});
  }

  trickle(pc, endpointName) {
    pc.onicecandidate = (e) => {
      if (e.candidate?.candidate) {
        this.socket.request("onIceCandidate", { endpointName, candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex }).catch(() => {});
      }
    };
  }

  /** Publishes camera and microphone (or a given `stream`); returns the MediaStream sent. */
  async publish({ audio = true, video = true, stream = null } = {}) {
    if (this.publisher) throw new RoomError(302, "publish: already publishing (unpublish first)");
    const media = stream || await navigator.mediaDevices.getUserMedia({ audio, video });
    const pc = new RTCPeerConnection(this.pcConfig);
    for (const t of media.getTracks()) pc.addTransceiver(t, { direction: "sendonly", streams: [media] });
    this.publisher = pc;
    this.localStream = media;
    this.trickle(pc, this.user);
    await pc.setLocalDescription(await pc.createOffer());
    try {
      const r = await this.socket.request("publishVideo", { sdpOffer: pc.localDescription.sdp, doLoopback: false });
      await pc.setRemoteDescription({ type: "answer", sdp: r.sdpAnswer });
    } catch (error) {
      pc.close();
      this.publisher = null;
      throw error;
    }
    this.emit("published", { stream: media });
    return media;
  }

  /**
   * Sends `track` instead of the published track of its kind (another camera or
   * microphone), with no renegotiation; the old track is stopped. A muted kind
   * stays muted.
   */
  async replaceTrack(track) {
    const sender = this.publisher?.getSenders().find((s) => s.track?.kind === track.kind);
    if (!sender) throw new RoomError(105, `replaceTrack: no ${track.kind} is published`);
    const old = sender.track;
    track.enabled = old.enabled;
    await sender.replaceTrack(track);
    this.localStream.removeTrack(old);
    this.localStream.addTrack(track);
    old.stop();
  }

  async unpublish() {
    if (!this.publisher) return;
    // Only the camera when a screen is shared beside it; else everything (any client).
    await this.socket.request("unpublishVideo", this.extras.size ? { streamId: "webcam" } : {});
    this.publisher.close();
    this.publisher = null;
    this.localStream?.getTracks().forEach((t) => t.stop());
    this.localStream = null;
  }

  /**
   * Shares a screen beside the camera (extension `streams`): the display the
   * user picks, or a given `stream` (a canvas, a second camera). Returns the
   * MediaStream sent; `stopSharing()` ends it (so does the browser's own stop).
   */
  async shareScreen({ stream = null, streamId = "screen", source = "screen", audio = false } = {}) {
    if (!this.publisher) throw new RoomError(105, "shareScreen: publish a first stream before sharing beside it");
    if (this.extras.has(streamId)) throw new RoomError(302, `shareScreen: ${streamId} is already published`);
    const media = stream || await navigator.mediaDevices.getDisplayMedia({ video: true, audio });
    const pc = new RTCPeerConnection(this.pcConfig);
    for (const t of media.getTracks()) pc.addTransceiver(t, { direction: "sendonly", streams: [media] });
    this.extras.set(streamId, { pc, media });
    this.trickle(pc, `${this.user}_${streamId}`);
    await pc.setLocalDescription(await pc.createOffer());
    try {
      const r = await this.socket.request("publishVideo", { sdpOffer: pc.localDescription.sdp, doLoopback: false, streamId, source });
      await pc.setRemoteDescription({ type: "answer", sdp: r.sdpAnswer });
    } catch (error) {
      pc.close();
      this.extras.delete(streamId);
      throw error;
    }
    media.getVideoTracks()[0]?.addEventListener("ended", () => this.stopSharing(streamId).catch(() => {}));
    return media;
  }

  async stopSharing(streamId = "screen") {
    const extra = this.extras.get(streamId);
    if (!extra) return;
    this.extras.delete(streamId);
    extra.pc.close();
    extra.media.getTracks().forEach((t) => t.stop());
    await this.socket.request("unpublishVideo", { streamId });
  }

  /**
   * Receives `participant`'s stream (automatic unless autoSubscribe is false).
   * Make-before-break: a subscription that replaces another (a mode switch) keeps
   * the old PeerConnection until the new one delivers media.
   */
  async subscribe(participant, streamId = "webcam", { quality } = {}) {
    const key = `${participant}_${streamId}`;
    const old = this.subscriptions.get(key);
    const pc = new RTCPeerConnection(this.pcConfig);
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    const media = new MediaStream();
    const entry = { pc, participant, stream: streamId, media };
    this.subscriptions.set(key, entry);
    let replaced = false;
    const retire = () => {
      if (replaced || !old) return;
      replaced = true;
      old.pc.close();
      for (const t of old.media.getTracks()) this.emit("trackRemoved", { participant, streamId, track: t, replaced: true });
    };
    pc.ontrack = (e) => {
      media.addTrack(e.track);
      this.emit("trackAdded", { participant, streamId, track: e.track, stream: media });
      // The old subscription goes once this one carries media (or after 5 s).
      e.track.onunmute = retire;
    };
    if (old) setTimeout(retire, 5000);
    this.trickle(pc, key);
    await pc.setLocalDescription(await pc.createOffer());
    const params = { sender: key, sdpOffer: pc.localDescription.sdp };
    if (quality) params.quality = quality;
    try {
      const r = await this.socket.request("receiveVideoFrom", params);
      await pc.setRemoteDescription({ type: "answer", sdp: r.sdpAnswer });
    } catch (error) {
      pc.close();
      if (this.subscriptions.get(key) === entry) this.subscriptions.delete(key);
      throw error;
    }
    return media;
  }

  unsubscribed(key) {
    const s = this.subscriptions.get(key);
    if (!s) return;
    this.subscriptions.delete(key);
    s.pc.close();
    for (const t of s.media.getTracks()) this.emit("trackRemoved", { participant: s.participant, streamId: s.stream, track: t });
  }

  async unsubscribe(participant, streamId = "webcam") {
    const key = `${participant}_${streamId}`;
    await this.socket.request("unsubscribeFromVideo", { sender: key });
    this.unsubscribed(key);
  }

  /** Your own audio or video off (`mute`) or on again; a moderator's mute cannot be undone (307). */
  mute(kind = "audio") { return this.setActive(kind, false); }
  unmute(kind = "audio") { return this.setActive(kind, true); }
  async setActive(kind, active) {
    const property = kind === "video" ? "videoActive" : "audioActive";
    await this.socket.request("streamPropertyChanged", { streamId: "webcam", property, newValue: active });
    this.localStream?.getTracks().filter((t) => t.kind === kind).forEach((t) => { t.enabled = active; });
  }

  /** Moderators: mute another participant's `kind` for everyone. */
  muteParticipant(id, kind = "audio", muted = true) {
    return this.socket.request("muteParticipant", { target: id, kind, muted });
  }

  setMode(mode) { return this.socket.request("setRoomMode", { mode }); }
  setLayout(layout, tiles) { return this.socket.request("setLayout", tiles ? { layout, tiles } : { layout }); }
  sendMessage(text) { return this.socket.request("sendMessage", { message: text, userMessage: this.user, roomMessage: this.name }); }
  startRecording(options = {}) { return this.socket.request("startRecording", options); }
  /** Stops recording `id`, by default the one running (`recording.id`). */
  stopRecording(id = this.recording?.id) { return this.socket.request("stopRecording", id ? { id } : {}); }
  /** Any other request of the room protocol. */
  request(method, params) { return this.socket.request(method, params); }

  /** Leaves the room and closes everything. */
  async leave() {
    this.closed = true;
    try { await this.socket.request("leaveRoom", {}, 5000); } catch {}
    this.leaveLocally();
  }

  leaveLocally() {
    this.closed = true;
    clearInterval(this.keepalive);
    this.socket?.close();
    this.publisher?.close();
    this.publisher = null;
    for (const extra of this.extras.values()) extra.pc.close();
    this.extras.clear();
    for (const key of [...this.subscriptions.keys()]) this.unsubscribed(key);
  }

  /**
   * The socket closed without a leave. Within the server's grace period a new
   * socket resumes the same session (`connect {sessionId}`): PeerConnections
   * carry on untouched. Otherwise (the server restarted, or the room's node
   * moved it) the room is joined again, and media published again.
   */
  async lost() {
    clearInterval(this.keepalive);
    if (this.closed) return;
    this.emit("disconnected", {});
    if (!this.options.reconnect) return;
    this.emit("reconnecting", {});
    for (let attempt = 0; attempt < 60 && !this.closed; attempt++) {
      await new Promise((r) => setTimeout(r, attempt === 0 ? 300 : 1000));
      try {
        if (!this.movedTo && this.sessionId) {
          this.socket = new Socket(this.url, (m, p) => this.notification(m, p), () => this.lost());
          await this.socket.open();
          try {
            await this.socket.request("connect", { sessionId: this.sessionId });
            await this.socket.request("ping", { interval: 3000 });
            this.keepalive = setInterval(() => this.socket.request("ping").catch(() => {}), 3000);
            this.emit("reconnected", { resumed: true });
            return;
          } catch (error) {
            this.socket.close();
            if (error.code !== 40007) throw error;
          }
        }
        // The session is gone: join again from scratch.
        const stream = this.localStream;
        this.publisher?.close();
        this.publisher = null;
        for (const key of [...this.subscriptions.keys()]) this.unsubscribed(key);
        for (const p of this.participants.values()) this.emit("participantLeft", { participant: p });
        this.participants.clear();
        if (this.movedTo) { this.url = this.movedTo; this.movedTo = null; }
        await this.connect();
        if (stream) await this.publish({ stream });
        this.emit("reconnected", { resumed: false });
        return;
      } catch (error) {
        this.socket?.close();
      }
    }
    this.emit("failed", {});
  }
}
