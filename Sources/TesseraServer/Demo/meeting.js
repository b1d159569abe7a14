// Tessera meeting page (/demo): pre-join preview, a grid of videos (SFU,
// hybrid) or the server's mixed picture with names on its tiles (MCU), chat,
// moderator tools, reconnection. Everything goes through the room client
// /sdk/tessera-room.js. Text that comes from other people (names, chat) is
// only ever set with textContent.
import { Room } from "/sdk/tessera-room.js";

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
const MCU = "$mcu";

// What the page shows, kept for the browser tests (?report=1 prints it every second).
const status = {
  joined: false, published: false, mode: null, role: null, rejoins: 0, connection: "idle", view: "grid",
  frames: {}, colours: {}, compositeColours: {}, overlays: [], layoutTiles: [], canvas: null,
  chat: [], chatElements: 0, mutedShown: [], speakingShown: [], recordingShown: false, people: [], audio: {},
  errors: [],
};
window.tesseraDemo = status;

let room = null;
let local = null;              // the MediaStream we publish (null: receive only)
let preview = null;            // the pre-join preview stream
let pinned = null;
let leaving = false;
let reportAudio = params.get("report") === "1";
/** Tile key (id or id_stream) -> <figure> in the grid. The people themselves, their mute
 * state, who speaks and the tiles of the mixed picture are the room client's (`room`). */
const tiles = new Map();

/** A participant as the room client knows them (never us). */
const person = (id) => room?.participants.get(id);
/** The others in the room: not us, not `$mcu` or other server pseudo-participants. */
const others = () => [...(room?.participants.values() ?? [])].filter((p) => !p.id.startsWith("$"));
/** The grid tile of a participant's stream: their name for the camera, `name_stream` for another. */
const tileKey = (participant, streamId) => (streamId && streamId !== "webcam" ? `${participant}_${streamId}` : participant);
/** Whether `id`'s microphone is off: ours from the mute button, theirs as the room said. */
const micOff = (id) => (id === room.user ? $("micButton").getAttribute("aria-pressed") === "true" : person(id)?.audioActive === false);

// ---------------------------------------------------------------- pre-join

function note(text) { $("previewNote").textContent = text; }

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  fill($("camera"), devices.filter((d) => d.kind === "videoinput"), "Camera");
  fill($("microphone"), devices.filter((d) => d.kind === "audioinput"), "Microphone");
}

function fill(select, devices, word) {
  const chosen = select.value;
  select.replaceChildren(...devices.map((d, i) => {
    const option = el("option", null, d.label || `${word} ${i + 1}`);
    option.value = d.deviceId;
    return option;
  }));
  if (devices.some((d) => d.deviceId === chosen)) select.value = chosen;
  select.disabled = devices.length === 0;
}

async function startPreview() {
  preview?.getTracks().forEach((t) => t.stop());
  preview = null;
  $("preview").srcObject = null;
  const video = $("useCamera").checked, audio = $("useMic").checked;
  if (!video && !audio) {
    note("Camera and microphone off: you will join to watch and listen.");
    return;
  }
  const pick = (id) => (id ? { deviceId: { exact: id } } : true);
  try {
    preview = await navigator.mediaDevices.getUserMedia({
      video: video ? pick($("camera").value) : false,
      audio: audio ? pick($("microphone").value) : false,
    });
    $("preview").srcObject = preview;
    note("");
  } catch (error) {
    note(`No camera or microphone (${error.name}): you can still join to watch and listen.`);
  }
  await listDevices().catch(() => {});
}

function validName(name) {
  if (!name) return "Please enter a name.";
  if (name.includes("_") || name.startsWith("$")) return "A name may not contain _ or start with $.";
  if (/[<>&"'`]/.test(name)) return "A name may not contain < > & \" ' or `.";
  return null;
}

// ------------------------------------------------------------------ joining

async function join(user, roomName, mode, token) {
  const problem = validName(user) || (validName(roomName) && "Please enter a valid room name.");
  if (problem) { $("joinError").textContent = problem; return; }
  $("joinError").textContent = "";
  $("joinButton").disabled = true;
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/room";
  room = new Room(url, { room: roomName, user, token: token || undefined, mode });
  listen(room);
  try {
    await room.connect();
  } catch (error) {
    $("joinButton").disabled = false;
    $("joinError").textContent = `Could not join: ${error.message}`;
    room = null;
    return;
  }
  local = preview;
  preview = null;
  status.joined = true;
  status.role = room.role;
  status.connection = "connected";
  enterMeeting(roomName);
  paintSpeakers();
  if (room.layout) onLayout(room.layout);
  // Watching only: no tile of our own (we are in the people list), the grid is for the others.
  if (local) await publishLocal(local);
}

async function publishLocal(stream) {
  addSelfTile(stream);
  try {
    await room.publish({ stream });
    status.published = true;
    await offerDeviceSwitch();
  } catch (error) {
    toast(`Your camera could not be sent: ${error.message}`);
    status.errors.push(error.message);
  }
}

function enterMeeting(roomName) {
  $("prejoin").hidden = true;
  $("meeting").hidden = false;
  $("roomName").textContent = roomName;
  history.replaceState(null, "", `?room=${encodeURIComponent(roomName)}`);
  showMode(room.mode);
  const moderator = room.role === "moderator";
  $("moderatorTools").hidden = !moderator;
  $("shareButton").hidden = !local || !navigator.mediaDevices.getDisplayMedia;
  $("micButton").hidden = !local?.getAudioTracks().length;
  $("cameraButton").hidden = !local?.getVideoTracks().length;
  if (room.recording) showRecording(true);
  renderPeople();
}

// ------------------------------------------------------------ room events

function listen(r) {
  const person = (id) => !id.startsWith("$");
  r.addEventListener("participantJoined", (e) => {
    const id = e.detail.participant.id;
    if (!person(id)) return;
    addPerson(id);
    if (status.joined) system(`${id} joined`);
  });
  r.addEventListener("participantLeft", (e) => {
    const id = e.detail.participant.id;
    if (!person(id)) return;
    removePerson(id);
    if (status.joined) system(`${id} left`);
  });
  r.addEventListener("streamPublished", () => renderPeople());  // "watching" goes once they publish
  r.addEventListener("trackAdded", (e) => onTrack(e.detail));
  r.addEventListener("trackRemoved", (e) => onTrackRemoved(e.detail));
  r.addEventListener("modeChanged", (e) => { if (e.detail.mode) showMode(e.detail.mode, e.detail.phase); });
  r.addEventListener("layoutChanged", (e) => onLayout(e.detail));
  r.addEventListener("activeSpeaker", () => paintSpeakers());
  r.addEventListener("speaking", () => paintSpeakers());
  r.addEventListener("streamPropertyChanged", (e) => onProperty(e.detail));
  r.addEventListener("message", (e) => chatLine(e.detail.from, e.detail.text));
  r.addEventListener("recording", (e) => showRecording(e.detail.active));
  r.addEventListener("roomMoved", (e) => onMoved(e.detail));
  r.addEventListener("evicted", (e) => { banner(e.detail.reason === "roomClosed" ? "The meeting was closed." : "You were removed from the meeting."); status.connection = "evicted"; });
  r.addEventListener("disconnected", () => { status.connection = "disconnected"; connection("Connection lost", true); });
  r.addEventListener("reconnecting", () => { status.connection = "reconnecting"; banner("Connection to the server lost. Reconnecting…"); connection("Reconnecting…", true); });
  r.addEventListener("reconnected", (e) => onReconnected(e.detail.resumed));
  r.addEventListener("failed", () => { status.connection = "failed"; banner("The server cannot be reached. Reload the page to try again."); connection("Offline", true); });
  r.addEventListener("error", (e) => { status.errors.push(e.detail.error.message); });
}

function onReconnected(resumed) {
  status.rejoins++;
  status.connection = "connected";
  status.role = room.role;
  connection("");
  banner(resumed ? "Reconnected." : "Back in the meeting.", true);
  if (!resumed) {
    // A new session: the server's room was made again (a restart, another node). The people
    // came back through participantLeft and participantJoined.
    showMode(room.mode);
    if (room.localStream) status.published = true;
  }
}

/** In a cluster, the room went to another node: this page only talks to its own server, so it moves there. */
function onMoved({ url }) {
  if (!url) return;
  const next = new URL(url);
  if (next.host === location.host) return;
  room.options.reconnect = false;
  next.protocol = location.protocol;
  next.pathname = "/demo";
  next.search = new URLSearchParams({ ...Object.fromEntries(params), room: room.name, user: room.user, join: "1" }).toString();
  banner("The meeting moved to another server. Following it…");
  setTimeout(() => { location.href = next.toString(); }, 300);
}

function showMode(mode, phase) {
  status.mode = mode;
  const words = { sfu: "Separate videos", mcu: "Mixed picture", hybrid: "Separate videos, mixed sound" };
  $("modeBadge").textContent = (words[mode] || mode) + (phase === "started" ? " (switching…)" : "");
  $("modeSelect").value = mode;
  $("layoutLabel").hidden = mode === "sfu";
  updateView();
}

function updateView() {
  const compositeVideo = $("compositeVideo").srcObject?.getVideoTracks().some((t) => t.readyState === "live");
  const view = status.mode === "mcu" && compositeVideo ? "composite" : "grid";
  status.view = view;
  $("composite").hidden = view !== "composite";
  $("grid").hidden = view !== "grid";
  $("stageNote").textContent = view === "grid" && [...tiles.values()].every((f) => f.dataset.owner === room?.user) ? "Waiting for others to join…" : "";
}

// ------------------------------------------------------------------ people

function addPerson(id) {
  // `$mcu` and other server pseudo-participants are not people.
  if (id.startsWith("$")) return;
  ensureTile(id, id);
  renderPeople();
}

function removePerson(id) {
  for (const [key, fig] of tiles) if (fig.dataset.owner === id) { fig.remove(); tiles.delete(key); }
  delete status.frames[id];
  delete status.colours[id];
  delete status.audio[id];
  renderPeople();
  updateView();
}

function renderPeople() {
  const moderator = room?.role === "moderator";
  const items = [];
  const me = el("li");
  me.append(el("span", "name", `${room?.user ?? ""} (you)`), el("span", "tag", local ? "" : "watching"));
  items.push(me);
  const list = others();
  for (const p of list) {
    const li = el("li");
    li.dataset.id = p.id;
    const mic = el("span", p.audioActive ? "" : "mic-off");
    mic.title = p.audioActive ? "" : "Microphone off";
    li.append(mic, el("span", "name", p.id));
    if (!p.streams.size && status.mode !== "mcu") li.append(el("span", "tag", "watching"));
    if (moderator) {
      const b = el("button", null, p.audioActive ? "Mute" : "Muted");
      b.disabled = !p.audioActive;
      b.onclick = () => room.muteParticipant(p.id, "audio", true).catch((error) => toast(`Could not mute ${p.id}: ${error.message}`));
      li.append(b);
    }
    items.push(li);
  }
  $("people").replaceChildren(...items);
  $("peopleCount").textContent = `(${list.length + 1})`;
  status.people = list.map((p) => p.id);
  status.mutedShown = list.filter((p) => !p.audioActive).map((p) => p.id);
}

function onProperty({ id, property, value, reason }) {
  if (id === room.user) {
    // A moderator turned our microphone (or camera) off.
    if (property === "audioActive") setMicButton(!value, reason === "forceMute");
    if (property === "videoActive") setCameraButton(!value);
    return;
  }
  // The room client has recorded it on the participant.
  const p = person(id);
  if (!p || !(property in p)) return;
  renderPeople();
  paintTiles();
}

// ------------------------------------------------------------------ devices

/** Camera and microphone menus in the toolbar, for what is published. */
async function offerDeviceSwitch() {
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  for (const [kind, select, word] of [["video", $("cameraSwitch"), "Camera"], ["audio", $("micSwitch"), "Microphone"]]) {
    const track = local?.getTracks().find((t) => t.kind === kind);
    const list = devices.filter((d) => d.kind === `${kind}input`);
    select.hidden = !track || list.length === 0;
    if (select.hidden) continue;
    fill(select, list, word);
    const current = track.getSettings?.().deviceId;
    if (current && list.some((d) => d.deviceId === current)) select.value = current;
  }
}

/** Sends another camera or microphone, without renegotiating. */
async function switchDevice(kind, deviceId) {
  try {
    const media = await navigator.mediaDevices.getUserMedia({ [kind]: { deviceId: { exact: deviceId } } });
    const track = media.getTracks()[0];
    await room.replaceTrack(track);
    status.deviceSwitches = (status.deviceSwitches || 0) + 1;
  } catch (error) {
    toast(`Could not switch the ${kind === "video" ? "camera" : "microphone"}: ${error.message}`);
    await offerDeviceSwitch();
  }
}

// ------------------------------------------------------------------- media

function ensureTile(key, owner) {
  let fig = tiles.get(key);
  if (fig) return fig;
  fig = el("figure", "tile");
  fig.dataset.owner = owner;
  fig.dataset.key = key;
  const video = el("video");
  video.autoplay = true;
  video.playsInline = true;
  const avatar = el("div", "avatar", (owner[0] || "?").toUpperCase());
  const label = el("figcaption", "label");
  label.append(el("span", "mic"), el("span", "who", key === owner ? owner : `${owner} (${key.slice(owner.length + 1)})`));
  fig.append(video, avatar, label);
  if (owner === room.user) {
    fig.classList.add("self");
    video.muted = true;
    label.lastChild.textContent = `${owner} (you)`;
    $("grid").prepend(fig);
  } else {
    $("grid").append(fig);
  }
  tiles.set(key, fig);
  paintTiles();
  updateView();
  return fig;
}

function addSelfTile(stream) {
  const fig = ensureTile(room.user, room.user);
  const video = fig.querySelector("video");
  video.srcObject = stream;
  fig.querySelector(".avatar").hidden = !!stream?.getVideoTracks().length;
}

function onTrack({ participant, streamId, track, stream }) {
  if (participant === MCU) {
    if (streamId === "audio" || track.kind === "audio" && !stream.getVideoTracks().length) {
      playAudio("mix", stream);
    }
    if (track.kind === "video" || streamId !== "audio") {
      const video = $("compositeVideo");
      if (video.srcObject !== stream) { video.srcObject = stream; countFrames(MCU, video); }
      if (reportAudio && track.kind === "audio") watchAudio(MCU, stream);
    }
    track.addEventListener("ended", updateView);
    updateView();
    return;
  }
  const key = tileKey(participant, streamId);
  addPerson(participant);
  const fig = ensureTile(key, participant);
  const video = fig.querySelector("video");
  if (video.srcObject !== stream) { video.srcObject = stream; countFrames(participant, video, key); }
  fig.querySelector(".avatar").hidden = stream.getVideoTracks().length > 0;
  if (reportAudio && track.kind === "audio") watchAudio(participant, stream);
  updateView();
}

function onTrackRemoved({ participant, streamId, replaced }) {
  if (replaced) return;
  if (participant === MCU) {
    if (streamId === "audio") $("mixAudio")?.remove();
    else $("compositeVideo").srcObject = null;
    updateView();
    return;
  }
  const key = tileKey(participant, streamId);
  const fig = tiles.get(key);
  if (!fig) return;
  if (key !== participant) { fig.remove(); tiles.delete(key); updateView(); return; }
  // An unpublished camera (or the switch to MCU): the person stays, as an avatar.
  fig.querySelector("video").srcObject = null;
  fig.querySelector(".avatar").hidden = false;
}

function playAudio(id, stream) {
  let audio = $(id + "Audio");
  if (!audio) {
    audio = el("audio");
    audio.id = id + "Audio";
    audio.autoplay = true;
    document.body.append(audio);
  }
  audio.srcObject = stream;
  if (reportAudio) watchAudio(MCU, stream);
}

function countFrames(id, video, key = id) {
  const step = () => {
    status.frames[key] = video.getVideoPlaybackQuality?.().totalVideoFrames || 0;
    if (video.isConnected) video.requestVideoFrameCallback(step);
  };
  video.requestVideoFrameCallback?.(step);
}

// ------------------------------------------------------- speakers, mute marks

function paintTiles() {
  for (const fig of tiles.values()) {
    fig.querySelector(".mic").className = micOff(fig.dataset.owner) ? "mic mic-off" : "mic";
  }
  paintSpeakers();
  paintOverlays();
}

function paintSpeakers() {
  const dominant = room?.dominantSpeaker;
  const shown = new Set();
  // The grid's tiles and the names over the mixed picture alike.
  for (const node of [...tiles.values(), ...$("overlays").children]) {
    const owner = node.dataset.owner;
    const speaking = person(owner)?.speaking || false;
    node.classList.toggle("speaking", speaking);
    node.classList.toggle("dominant", owner === dominant);
    if (node.classList.contains("tile") && (speaking || owner === dominant)) shown.add(owner);
  }
  status.speakingShown = [...shown];
}

// --------------------------------------------------------- the mixed picture

/** Shows the room client's `layout` (it keeps the last layoutChanged, and the join's). */
function onLayout(detail) {
  const canvas = detail.canvas;
  if (canvas?.width && canvas?.height) $("composite").style.aspectRatio = `${canvas.width} / ${canvas.height}`;
  status.layoutTiles = (detail.tiles || []).map((t) => ({ id: t.id, key: t.key || t.id, x: t.x, y: t.y, w: t.w, h: t.h }));
  status.canvas = canvas || null;
  if (detail.layout !== "custom") pinned = null;
  $("layoutSelect").value = ["grid", "speaker", "pip", "presentation"].includes(detail.layout) ? detail.layout : "grid";
  paintOverlays();
}

function paintOverlays() {
  const layout = room?.layout;
  if (!layout) return;
  const moderator = room?.role === "moderator";
  const nodes = [];
  // Higher z on top (a picture in picture).
  const ordered = [...(layout.tiles || [])].sort((a, b) => (a.z || 0) - (b.z || 0));
  for (const t of ordered) {
    const o = el("div", "overlay");
    o.dataset.owner = t.id;
    o.dataset.key = t.key || t.id;
    o.style.left = `${t.x * 100}%`;
    o.style.top = `${t.y * 100}%`;
    o.style.width = `${t.w * 100}%`;
    o.style.height = `${t.h * 100}%`;
    const label = el("div", "label");
    label.append(el("span", micOff(t.id) ? "mic mic-off" : "mic"), el("span", "who", t.id === room.user ? `${t.id} (you)` : t.label || t.id));
    o.append(label);
    if (moderator) {
      o.classList.add("pinnable");
      o.title = pinned === o.dataset.key ? "Click to go back to the grid" : "Click to make this one large for everyone";
      o.onclick = () => pin(o.dataset.key);
    }
    o.classList.toggle("pinned", pinned === o.dataset.key);
    nodes.push(o);
  }
  $("overlays").replaceChildren(...nodes);
  paintSpeakers();
}

/** Makes one tile large for everyone (a custom layout), or goes back to the grid. */
async function pin(key) {
  try {
    if (pinned === key) {
      pinned = null;
      await room.setLayout("grid");
      return;
    }
    const rest = (room.layout?.tiles || []).map((t) => t.key || t.id).filter((k) => k !== key);
    const tilesAsked = [{ id: key, x: 0, y: 0, w: rest.length ? 0.75 : 1, h: 1, z: 0 }];
    rest.forEach((k, i) => tilesAsked.push({ id: k, x: 0.75, y: i / rest.length, w: 0.25, h: 1 / rest.length, z: 0 }));
    await room.setLayout("custom", tilesAsked);
    pinned = key;
    paintOverlays();
  } catch (error) {
    toast(`Could not change the layout: ${error.message}`);
  }
}

// -------------------------------------------------------------------- chat

function chatLine(from, text) {
  const li = el("li");
  li.append(el("span", "from", from === room.user ? "You" : from), el("span", "text", text));
  $("messages").append(li);
  li.scrollIntoView({ block: "end" });
  status.chat.push({ from, text });
  status.chatElements = $("messages").querySelectorAll(".text *").length;  // stays 0: no message became markup
  status.chatMentionsOnerror = $("messages").textContent.includes("onerror=");
}

function system(text) {
  const li = el("li", "system", text);
  $("messages").append(li);
  li.scrollIntoView({ block: "end" });
}

// ---------------------------------------------------------------- controls

function setMicButton(muted, byModerator = false) {
  $("micButton").setAttribute("aria-pressed", String(muted));
  $("micButton").textContent = muted ? "Unmute" : "Mute";
  if (byModerator && muted) toast("A moderator turned your microphone off.");
  paintTiles();
}

function setCameraButton(off) {
  $("cameraButton").setAttribute("aria-pressed", String(off));
  $("cameraButton").textContent = off ? "Start video" : "Stop video";
}

async function toggle(kind) {
  const button = kind === "audio" ? $("micButton") : $("cameraButton");
  const off = button.getAttribute("aria-pressed") === "true";
  button.disabled = true;
  try {
    if (off) await room.unmute(kind); else await room.mute(kind);
    // Only once the server agreed.
    if (kind === "audio") setMicButton(!off); else setCameraButton(!off);
  } catch (error) {
    toast(error.code === 307 ? "A moderator muted you: you cannot turn it back on yourself." : `Could not change it: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

async function toggleShare() {
  const b = $("shareButton");
  b.disabled = true;
  try {
    if (room.extras.has("screen")) {
      await room.stopSharing("screen");
      b.textContent = "Share screen";
    } else {
      const media = await room.shareScreen();
      b.textContent = "Stop sharing";
      media.getVideoTracks()[0]?.addEventListener("ended", () => { b.textContent = "Share screen"; });
    }
  } catch (error) {
    if (error.name !== "NotAllowedError") toast(`Could not share: ${error.message}`);
  } finally {
    b.disabled = false;
  }
}

function showRecording(active) {
  $("recordingBadge").hidden = !active;
  $("recordButton").textContent = active ? "Stop recording" : "Record";
  status.recordingShown = active;
}

async function toggleRecording() {
  const b = $("recordButton");
  b.disabled = true;
  try {
    if (status.recordingShown) await room.stopRecording();
    else await room.startRecording({ target: "composite" });
  } catch (error) {
    toast(`Recording: ${error.message}`);
  } finally {
    b.disabled = false;
  }
}

// ----------------------------------------------------- messages to the user

let bannerTimer = null;
function banner(text, good = false) {
  const b = $("banner");
  b.textContent = text;
  b.classList.toggle("good", good);
  b.hidden = false;
  clearTimeout(bannerTimer);
  if (good) bannerTimer = setTimeout(() => { b.hidden = true; }, 3000);
}
function toast(text) { banner(text); bannerTimer = setTimeout(() => { $("banner").hidden = true; }, 5000); }
function connection(text, bad = false) {
  $("connection").textContent = text;
  $("connection").classList.toggle("bad", bad);
}

// ------------------------------------------------------ what the tests read

/** The colour at the centre of each tile's video, and of each tile of the mixed picture. */
const sampler = document.createElement("canvas");
function sample() {
  const ctx = sampler.getContext("2d", { willReadFrequently: true });
  status.covered = [];
  for (const fig of tiles.values()) {
    const video = fig.querySelector("video");
    if (fig.dataset.owner === room.user) continue;
    // A tile showing its avatar (no video) is not showing its picture, whatever the element holds.
    if (!fig.querySelector(".avatar").hidden) status.covered.push(fig.dataset.key);
    if (!video.videoWidth || !video.srcObject) { delete status.colours[fig.dataset.key]; continue; }
    sampler.width = 32; sampler.height = 24;
    ctx.drawImage(video, 0, 0, 32, 24);
    status.colours[fig.dataset.key] = [...ctx.getImageData(16, 12, 1, 1).data.slice(0, 3)];
  }
  const video = $("compositeVideo");
  status.compositeColours = {};
  const layout = room.layout;
  if (video.videoWidth && layout) {
    sampler.width = 320; sampler.height = 180;
    ctx.drawImage(video, 0, 0, 320, 180);
    for (const t of layout.tiles || []) {
      const x = Math.min(319, Math.floor((t.x + t.w / 2) * 320)), y = Math.min(179, Math.floor((t.y + t.h / 2) * 180));
      status.compositeColours[t.key || t.id] = [...ctx.getImageData(x, y, 1, 1).data.slice(0, 3)];
    }
  }
  // Where the page drew each name: fractions of the picture's box.
  const box = $("composite").getBoundingClientRect();
  status.overlays = $("composite").hidden || !box.width ? [] : [...$("overlays").children].map((o) => {
    const r = o.getBoundingClientRect();
    return { id: o.dataset.owner, key: o.dataset.key, x: (r.left - box.left) / box.width, y: (r.top - box.top) / box.height,
      w: r.width / box.width, h: r.height / box.height, label: o.textContent };
  });
}

/** Loudness and strongest frequency of what we hear from `id` (tests only: ?report=1). */
let audioContext = null;
const analysers = new Map();
function watchAudio(id, stream) {
  try {
    audioContext ||= new AudioContext();
    const source = audioContext.createMediaStreamSource(stream);
    const analyser = audioContext.createAnalyser();
    analyser.fftSize = 8192;
    source.connect(analyser);
    analysers.set(id, analyser);
  } catch (error) {
    status.errors.push(`audio analysis: ${error.message}`);
  }
}
function listenAll() {
  for (const [id, analyser] of analysers) {
    const wave = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(wave);
    const rms = Math.sqrt(wave.reduce((s, v) => s + v * v, 0) / wave.length);
    const spectrum = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(spectrum);
    let best = 0;
    for (let i = 1; i < spectrum.length; i++) if (spectrum[i] > spectrum[best]) best = i;
    status.audio[id] = { rms: Math.round(rms * 10000) / 10000, hz: Math.round(best * audioContext.sampleRate / analyser.fftSize) };
  }
}

if (params.get("report") === "1") {
  setInterval(() => {
    if (room && status.joined) { sample(); listenAll(); }
    // Chat texts stay out of the console line (its quoting does not survive Chromium's log); tests
    // that need them read window.tesseraDemo itself.
    const { chat, ...rest } = status;
    console.log("RESULT " + JSON.stringify({ ...rest, chatCount: chat.length }));
  }, 1000);
}

// ------------------------------------------------------------------ wiring

$("useCamera").onchange = $("useMic").onchange = $("camera").onchange = $("microphone").onchange = () => startPreview();
$("joinForm").onsubmit = (e) => {
  e.preventDefault();
  join($("user").value.trim(), $("room").value.trim(), $("mode").value, $("token").value.trim());
};
$("micButton").onclick = () => toggle("audio");
$("cameraButton").onclick = () => toggle("video");
$("shareButton").onclick = toggleShare;
$("cameraSwitch").onchange = () => switchDevice("video", $("cameraSwitch").value);
$("micSwitch").onchange = () => switchDevice("audio", $("micSwitch").value);
$("recordButton").onclick = toggleRecording;
$("modeSelect").onchange = () => room.setMode($("modeSelect").value).catch((error) => { toast(`Could not switch: ${error.message}`); $("modeSelect").value = status.mode; });
$("layoutSelect").onchange = () => room.setLayout($("layoutSelect").value).catch((error) => toast(`Could not change the layout: ${error.message}`));
$("chatForm").onsubmit = (e) => {
  e.preventDefault();
  const text = $("chatText").value.trim();
  if (!text) return;
  room.sendMessage(text).then(() => { $("chatText").value = ""; }).catch((error) => toast(`Not sent: ${error.message}`));
};
$("leaveButton").onclick = async () => {
  leaving = true;
  await room.leave();
  local?.getTracks().forEach((t) => t.stop());
  location.href = `/demo?room=${encodeURIComponent(room.name)}`;
};
addEventListener("beforeunload", () => { if (room && !leaving) room.leaveLocally(); });

// ?room=R fills the room; ?user=U&join=1 (or the tests' ?user=U&report=1) joins at once;
// ?camera=0 joins without camera and microphone (watching only).
if (params.get("room")) $("room").value = params.get("room");
if (params.get("user")) $("user").value = params.get("user");
if (params.get("mode")) $("mode").value = params.get("mode");
if (params.get("camera") === "0") { $("useCamera").checked = false; $("useMic").checked = false; }
startPreview().then(() => {
  if (params.get("user") && (params.get("join") === "1" || params.get("report") === "1")) {
    join(params.get("user"), params.get("room") || "demo", params.get("mode") || "sfu", params.get("token"));
  }
});
