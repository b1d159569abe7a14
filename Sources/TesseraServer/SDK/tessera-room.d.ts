// Types of tessera-room.js, the browser client of Tessera's room API (docs/room-protocol.md).

export class RoomError extends Error {
  /** The room protocol's error code (401, 302, 309 ...); 0 for a connection problem. */
  readonly code: number;
  readonly data?: unknown;
}

export type RoomMode = "sfu" | "mcu" | "hybrid";

export interface JoinOptions {
  room: string;
  user: string;
  /** A room token (JWT), when the server asks for one. */
  token?: string;
  /** The mode of a room this join creates. */
  mode?: RoomMode;
  /** Room protocol extensions asked for (default: mode, layout, speaking, mute, recording, streams, cluster). */
  extensions?: string[];
  iceServers?: RTCIceServer[];
  /** Subscribe to every stream published (default true). */
  autoSubscribe?: boolean;
  /** Resume or rejoin when the socket drops (default true). */
  reconnect?: boolean;
}

export class Participant {
  readonly id: string;
  readonly streams: Map<string, { id: string; source?: string }>;
  audioActive: boolean;
  videoActive: boolean;
  speaking: boolean;
}

/** Fractions of the picture. `key` names the tile in a custom layout (`user`, or `user_stream`). */
export interface Tile { id: string; key?: string; streamId?: string; label?: string; source?: string; speaking?: boolean; x: number; y: number; w: number; h: number; z?: number }

export interface RoomEventMap {
  participantJoined: CustomEvent<{ participant: Participant }>;
  participantLeft: CustomEvent<{ participant: Participant }>;
  streamPublished: CustomEvent<{ participant: Participant; stream: { id: string; source?: string } }>;
  trackAdded: CustomEvent<{ participant: string; streamId: string; track: MediaStreamTrack; stream: MediaStream }>;
  trackRemoved: CustomEvent<{ participant: string; streamId: string; track: MediaStreamTrack; replaced?: boolean }>;
  published: CustomEvent<{ stream: MediaStream }>;
  layoutChanged: CustomEvent<Layout>;
  activeSpeaker: CustomEvent<{ id: string | null; previous?: string | null }>;
  speaking: CustomEvent<{ id: string; speaking: boolean; level?: number }>;
  modeChanged: CustomEvent<{ mode: RoomMode; phase?: string }>;
  message: CustomEvent<{ from: string; text: string; room: string }>;
  streamPropertyChanged: CustomEvent<{ id: string; streamId: string; property: string; value: unknown; reason?: string }>;
  recording: CustomEvent<{ active: boolean; id?: string; name?: string; reason?: string }>;
  roomMoved: CustomEvent<{ room: string; node: string; reason: string; url?: string }>;
  evicted: CustomEvent<{ reason?: string }>;
  disconnected: CustomEvent<{}>;
  reconnecting: CustomEvent<{}>;
  reconnected: CustomEvent<{ resumed: boolean }>;
  failed: CustomEvent<{}>;
  error: CustomEvent<{ error: RoomError }>;
  notification: CustomEvent<{ method: string; params: unknown }>;
}

export interface Layout { layout: string; tiles: Tile[]; revision?: number; canvas?: { width: number; height: number; frameRate?: number } }

export class Room extends EventTarget {
  /** Connects and joins: `new Room(url, options)` then `connect()`. */
  static join(url: string, options: JoinOptions): Promise<Room>;
  /** A room not joined yet: add listeners, then `connect()` (to see the join's own events). */
  constructor(url: string, options: JoinOptions);
  connect(): Promise<void>;
  /** The mixed picture's tiles (MCU, hybrid; extension `layout`), from the join on. */
  readonly layout: Layout | null;
  /** Who speaks loudest now (extension `speaking`); each Participant's `speaking` says who speaks. */
  readonly dominantSpeaker: string | null;
  /** The recording running, if any. */
  readonly recording: { id: string; name?: string } | null;
  readonly name: string;
  readonly user: string;
  readonly participants: Map<string, Participant>;
  readonly mode: RoomMode | null;
  readonly role: "moderator" | "publisher" | "subscriber" | null;
  readonly sessionId: string | null;
  readonly localStream: MediaStream | null;

  publish(options?: { audio?: boolean | MediaTrackConstraints; video?: boolean | MediaTrackConstraints; stream?: MediaStream }): Promise<MediaStream>;
  unpublish(): Promise<void>;
  /** Sends `track` (another camera or microphone) instead of the published one of its kind, without renegotiating. */
  replaceTrack(track: MediaStreamTrack): Promise<void>;
  /** Shares a screen (or a given stream) beside the camera: extension `streams`. */
  shareScreen(options?: { stream?: MediaStream; streamId?: string; source?: "screen" | "camera" | "audio" | "custom"; audio?: boolean }): Promise<MediaStream>;
  stopSharing(streamId?: string): Promise<void>;
  subscribe(participant: string, streamId?: string, options?: { quality?: "low" | "medium" | "high" | "auto" }): Promise<MediaStream>;
  unsubscribe(participant: string, streamId?: string): Promise<void>;
  mute(kind?: "audio" | "video"): Promise<void>;
  unmute(kind?: "audio" | "video"): Promise<void>;
  muteParticipant(id: string, kind?: "audio" | "video", muted?: boolean): Promise<unknown>;
  setMode(mode: RoomMode): Promise<unknown>;
  setLayout(layout: string, tiles?: Tile[]): Promise<unknown>;
  sendMessage(text: string): Promise<unknown>;
  startRecording(options?: { target?: "composite" | "participants"; format?: "webm" | "mkv"; name?: string }): Promise<unknown>;
  /** Stops recording `id`, by default the one running. */
  stopRecording(id?: string): Promise<unknown>;
  request(method: string, params?: object): Promise<unknown>;
  leave(): Promise<void>;

  addEventListener<K extends keyof RoomEventMap>(type: K, listener: (event: RoomEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
}
