// A small client of the support-chat contract (docs/web-pages.md): REST helpers with the
// session cookie and CSRF, a WebSocket wrapper with ack promises and reconnect, and a
// per-room store that resumes after a reconnect without losing or duplicating anything.
// Plain ES module, no build step. Nothing here touches the DOM.

// --- REST ------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (status === 0 ? "network_error" : "http_" + status);
    this.details = error.details || {};
  }

  // The first field message of a validation error, else the message.
  get text() {
    const fields = this.details && this.details.fields;
    if (fields) {
      for (const [name, messages] of Object.entries(fields)) {
        const first = Array.isArray(messages) ? messages[0] : messages;
        if (first) return name === "non_field_errors" ? String(first) : `${name}: ${first}`;
      }
    }
    return this.message;
  }
}

export function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

// The CSRF token is read from the cookie on every unsafe request: login rotates it.
async function csrfToken() {
  let token = readCookie("csrftoken");
  if (!token) {
    await fetch("/api/auth/csrf", { credentials: "same-origin" });
    token = readCookie("csrftoken");
  }
  return token;
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") {
    headers["X-CSRFToken"] = await csrfToken();
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { error: { code: "network_error", message: "The server cannot be reached." } });
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  csrf: () => request("GET", "/api/auth/csrf"),
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body === undefined ? {} : body),
  put: (path, body) => request("PUT", path, body),
  patch: (path, body) => request("PATCH", path, body),
  del: (path) => request("DELETE", path),
  upload(roomId, file) {
    const form = new FormData();
    form.append("file", file);
    return request("POST", `/api/chat/rooms/${encodeURIComponent(roomId)}/attachments`, form);
  },
  // The signed-in user, or null.
  async profile() {
    try {
      return await request("GET", "/api/auth/profile");
    } catch (err) {
      if (err.status === 401 || err.status === 403) return null;
      throw err;
    }
  },
  login: (username, password) => request("POST", "/api/auth/login", { username, password }),
  logout: () => request("POST", "/api/auth/logout"),
};

// crypto.randomUUID exists only in secure contexts; getRandomValues everywhere.
export function uuid() {
  if (window.crypto && typeof crypto.randomUUID === "function" && window.isSecureContext) {
    return crypto.randomUUID();
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- A tiny event emitter --------------------------------------------------------------

class Emitter {
  constructor() {
    this.handlers = new Map();
  }
  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
    return () => this.handlers.get(name).delete(fn);
  }
  emit(name, ...args) {
    for (const fn of this.handlers.get(name) || []) {
      try {
        fn(...args);
      } catch (err) {
        console.error(`handler of ${name} failed`, err);
      }
    }
  }
}

// --- WebSocket -------------------------------------------------------------------------

export class SocketError extends Error {
  constructor(data) {
    super((data && data.message) || (data && data.code) || "error");
    this.code = (data && data.code) || "error";
    this.details = (data && data.details) || {};
  }
}

const CLOSE_NOT_AUTHENTICATED = 4401;
// Errors after which a send is retried with the same client_msg_id.
const RETRYABLE = new Set(["disconnected", "timeout", "rate_limited", "service_unavailable", "server_error"]);

export function wsUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/chat/`;
}

// One socket with `request(event, data)` -> Promise of the ack's data (rejects with a
// SocketError on the contract's `error` frame, a timeout or a disconnect), and a
// reconnect with exponential backoff and jitter. 4401 (signed out) stops it.
export class Socket extends Emitter {
  constructor(url, { ackTimeoutMs = 15000 } = {}) {
    super();
    this.url = url;
    this.ackTimeoutMs = ackTimeoutMs;
    this.ws = null;
    this.pending = new Map();
    this.counter = 0;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.state = "idle";
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    });
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  start() {
    this.stopped = false;
    if (!this.ws) this._open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  }

  // Close now and reconnect after the usual backoff (tests use it to simulate a drop).
  drop() {
    if (this.ws) this.ws.close(4000, "client drop");
  }

  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    this._open();
  }

  _setState(state) {
    this.state = state;
    this.emit("state", state);
  }

  _open() {
    this._setState(this.attempt ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this._setState("open");
      this.emit("open");
    };
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (frame && typeof frame.event === "string") this._frame(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const [, waiter] of this.pending) {
        clearTimeout(waiter.timer);
        waiter.reject(new SocketError({ code: "disconnected", message: "Disconnected." }));
      }
      this.pending.clear();
      this.emit("close", event.code);
      if (event.code === CLOSE_NOT_AUTHENTICATED) {
        this.stopped = true;
        this._setState("signed-out");
        this.emit("unauthenticated");
        return;
      }
      if (this.stopped) {
        this._setState("idle");
        return;
      }
      this._scheduleReconnect();
    };
  }

  _scheduleReconnect() {
    const base = Math.min(15000, 500 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    this._setState("reconnecting");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.stopped && !this.ws) this._open();
    }, delay);
  }

  _frame(frame) {
    if ((frame.event === "ack" || frame.event === "error") && frame.ack) {
      const waiter = this.pending.get(frame.ack);
      if (!waiter) return;
      this.pending.delete(frame.ack);
      clearTimeout(waiter.timer);
      if (frame.event === "ack") waiter.resolve(frame.data || {});
      else waiter.reject(new SocketError(frame.data));
      return;
    }
    this.emit(frame.event, frame.data || {}, frame);
    this.emit("*", frame);
  }

  request(event, data = {}) {
    if (!this.isOpen) {
      return Promise.reject(new SocketError({ code: "disconnected", message: "Not connected." }));
    }
    const ack = `a${++this.counter}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ack);
        reject(new SocketError({ code: "timeout", message: "No answer from the server." }));
        // A socket that stopped answering is probably dead: start over.
        if (this.ws) this.ws.close(4000, "ack timeout");
      }, this.ackTimeoutMs);
      this.pending.set(ack, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ event, data, ack }));
    });
  }
}

// --- Outbox ----------------------------------------------------------------------------

// Messages not yet acknowledged, in localStorage: they survive a reload and are retried
// with the same client_msg_id, which the server stores at most once.
class Outbox {
  constructor(userId) {
    this.key = `support-chat.outbox.${userId}`;
    this.items = [];
    try {
      const stored = JSON.parse(localStorage.getItem(this.key) || "[]");
      const horizon = Date.now() - 24 * 3600 * 1000;
      this.items = stored.filter((item) => item && item.client_msg_id && Date.parse(item.created_at) > horizon);
    } catch (err) {
      this.items = [];
    }
    for (const item of this.items) item.inflight = false;
  }
  save() {
    try {
      const items = this.items.map(({ inflight, ...rest }) => rest);
      localStorage.setItem(this.key, JSON.stringify(items));
    } catch (err) {
      /* private mode or full storage: the outbox still works for this page */
    }
  }
  add(item) {
    this.items.push(item);
    this.save();
  }
  get(clientMsgId) {
    return this.items.find((item) => item.client_msg_id === clientMsgId);
  }
  remove(clientMsgId) {
    const before = this.items.length;
    this.items = this.items.filter((item) => item.client_msg_id !== clientMsgId);
    if (this.items.length !== before) this.save();
    return this.items.length !== before;
  }
  forRoom(roomId) {
    return this.items.filter((item) => item.room_id === roomId);
  }
}

// --- Room store ------------------------------------------------------------------------

// Staff only (a customer's socket never receives them): private notes, tags, the
// rating. Applied by agent-tools.js through the "timeline" event below.
const STAFF_EVENTS = ["note-added", "note-updated", "note-deleted", "room-tagged", "room-untagged", "room-rated"];

const TIMELINE_EVENTS = new Set([
  "new-message",
  "message-updated",
  "message-deleted",
  "room-assigned",
  "room-transferred",
  "room-closed",
  "system-message",
  ...STAFF_EVENTS,
]);

const NOTE_EVENTS = new Set(["room-assigned", "room-transferred", "room-closed", "system-message", "note-added", "room-tagged", "room-untagged", "room-rated"]);

class RoomState {
  constructor(room) {
    this.id = room.id;
    this.room = room;
    this.messages = new Map(); // message id -> message dto
    this.notes = new Map(); // seq -> {seq, kind, text, at}: assignment, transfer, close lines
    this.seen = new Set(); // timeline seqs applied (dedupe by (room, seq))
    this.contiguous = 0; // every seq up to here is known: the sync cursor
    this.lastSeq = 0;
    this.loaded = false; // a chat-history has been applied
    this.hasOlder = false;
    this.watermarks = {}; // user id -> {last_delivered_seq, last_read_seq}
    this.typing = new Map(); // user id -> {name, timer}
    this.queue = null; // {position, estimated_wait_seconds} from queue-updated
    this.serverUnread = 0;
    this.sentDelivered = 0;
    this.sentRead = 0;
    this.myTyping = false;
    this.myTypingAt = 0;
    this.myTypingTimer = null;
  }

  get oldestSeq() {
    let low = Infinity;
    for (const m of this.messages.values()) low = Math.min(low, m.seq);
    return low === Infinity ? null : low;
  }

  sorted() {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }
}

function mark(wm) {
  return { last_delivered_seq: (wm && wm.last_delivered_seq) || 0, last_read_seq: (wm && wm.last_read_seq) || 0 };
}

// The store the pages render from. Events (`on(name, fn)`):
//   state(socketState), room(roomId), messages(roomId), receipts(roomId), typing(roomId),
//   assigned(data), transferred(data), closed(data), queue(data), lost(roomId, code),
//   presence(data), unauthenticated(), resumed(), timeline(roomId, event, data, replayed)
export class ChatClient extends Emitter {
  constructor(user, { url = wsUrl() } = {}) {
    super();
    this.user = user;
    this.me = String(user.id);
    this.rooms = new Map();
    this.queueInfo = new Map(); // room id -> last queue-updated (also for untracked rooms)
    this.outbox = new Outbox(this.me);
    this.socket = new Socket(url);
    this.pumping = false;
    this.pumpTimer = null;
    this.receiptTimers = new Map();
    const s = this.socket;
    s.on("state", (state) => this.emit("state", state));
    s.on("open", () => this._resume());
    s.on("unauthenticated", () => this.emit("unauthenticated"));
    s.on("chat-history", (data) => this._history(data));
    for (const name of TIMELINE_EVENTS) s.on(name, (data) => this._timeline(name, data, false));
    s.on("message-status-updated", (data) => this._watermark(data));
    s.on("user-typing", (data) => this._typing(data));
    s.on("queue-updated", (data) => this._queue(data));
    s.on("user-status-changed", (data) => this.emit("presence", data));
    s.on("error", (data) => this._error(data));
  }

  start() {
    this.socket.start();
  }

  stop() {
    this.socket.stop();
  }

  room(roomId) {
    return this.rooms.get(roomId) || null;
  }

  // Follow a room: joined now if the socket is open, else when it opens.
  track(room) {
    let r = this.rooms.get(room.id);
    if (r) {
      r.room = { ...r.room, ...room };
    } else {
      r = new RoomState(room);
      this.rooms.set(room.id, r);
      const queued = this.queueInfo.get(room.id);
      if (queued) r.queue = queued;
      if (this.socket.isOpen) this._join(r);
    }
    this.emit("room", room.id);
    return r;
  }

  untrack(roomId) {
    const r = this.rooms.get(roomId);
    if (!r) return;
    this.rooms.delete(roomId);
    for (const t of r.typing.values()) clearTimeout(t.timer);
    clearTimeout(r.myTypingTimer);
    if (this.socket.isOpen) this.socket.request("leave-room", { room_id: roomId }).catch(() => {});
    this.emit("room", roomId);
  }

  // --- joining and resuming -----------------------------------------------------------

  async _join(r) {
    try {
      await this.socket.request("join-room", { room_id: r.id });
      this._pump();
    } catch (err) {
      if (err.code === "not_found") this._lost(r.id, err.code);
    }
  }

  // After every (re)connect: rooms already loaded are replayed from their cursor with one
  // `sync`; the others are joined (latest page). Then the outbox is sent again.
  async _resume() {
    const cursors = {};
    const fresh = [];
    for (const r of this.rooms.values()) {
      if (r.loaded) cursors[r.id] = r.contiguous;
      else fresh.push(r);
    }
    if (Object.keys(cursors).length) {
      try {
        const answer = await this.socket.request("sync", { rooms: cursors });
        for (const [roomId, code] of Object.entries(answer.failed || {})) {
          const r = this.rooms.get(roomId);
          if (!r) continue;
          if (code === "resync_required") {
            r.loaded = false;
            fresh.push(r);
          } else {
            this._lost(roomId, code);
          }
        }
      } catch (err) {
        return; // disconnected again: the next open resumes
      }
    }
    for (const r of fresh) await this._join(r);
    this.emit("resumed");
    this._pump();
  }

  _lost(roomId, code) {
    const r = this.rooms.get(roomId);
    if (!r) return;
    this.rooms.delete(roomId);
    this.emit("lost", roomId, code);
  }

  _error(data) {
    // Per-room sync failures are handled from the sync ack.
    if (data.event === "sync") return;
    const roomId = data.details && data.details.room_id;
    const r = roomId && this.rooms.get(roomId);
    if (!r) return;
    if (data.code === "resync_required") {
      r.loaded = false;
      this._join(r);
    } else if (data.code === "not_found" || data.code === "permission_denied") {
      this._lost(roomId, data.code);
    }
  }

  // --- applying server events ---------------------------------------------------------

  _history(data) {
    const r = this.rooms.get(data.room_id);
    if (!r) return;
    if (Array.isArray(data.messages)) {
      // The latest page: every message up to last_seq in it is current.
      for (const message of data.messages) {
        this._upsert(r, message);
        r.seen.add(message.seq);
      }
      if (!r.loaded || r.oldestSeq === null || (data.messages[0] && data.messages[0].seq <= r.oldestSeq)) {
        r.hasOlder = !!data.next;
      }
      this._loadNotes(r, r.hasOlder && r.oldestSeq !== null ? r.oldestSeq - 1 : 0);
    }
    if (Array.isArray(data.events)) {
      for (const item of data.events) this._timeline(item.event, item.data, true);
    }
    this._mergeWatermarks(r, data.watermarks || {});
    r.lastSeq = Math.max(r.lastSeq, data.last_seq || 0);
    // Everything up to last_seq is now known (holes and fillers included).
    r.contiguous = Math.max(r.contiguous, data.last_seq || 0);
    r.loaded = true;
    this._advance(r);
    this.emit("messages", r.id);
    this.emit("receipts", r.id);
    this._scheduleDelivered(r);
  }

  _advance(r) {
    while (r.seen.has(r.contiguous + 1)) r.contiguous += 1;
  }

  _timeline(name, data, replayed) {
    const r = this.rooms.get(data.room_id);
    if (!r) {
      // Not followed (yet): the pages decide (an agent's new room, a transfer to them).
      if (name === "room-assigned") this.emit("assigned", data);
      else if (name === "room-transferred") this.emit("transferred", data);
      else if (name === "room-closed") this.emit("closed", data);
      return;
    }
    const seq = data.seq;
    if (typeof seq === "number") {
      if (r.seen.has(seq)) return; // a duplicate (replay and live, room and user group)
      r.seen.add(seq);
      r.lastSeq = Math.max(r.lastSeq, seq);
      this._advance(r);
    }
    switch (name) {
      case "new-message": {
        const message = data.message;
        this._upsert(r, message);
        if (message.sender && message.sender.id === this.me) {
          if (this.outbox.remove(message.client_msg_id)) this.emit("outbox", r.id);
        } else {
          this._scheduleDelivered(r);
        }
        this.emit("messages", r.id);
        break;
      }
      case "message-updated": {
        const known = r.messages.has(data.message.id);
        const oldest = r.oldestSeq;
        if (known || (oldest !== null && data.message.seq >= oldest)) this._upsert(r, data.message);
        this.emit("messages", r.id);
        break;
      }
      case "message-deleted": {
        const message = r.messages.get(data.message_id);
        if (message) r.messages.set(message.id, { ...message, deleted: true, text: "", attachments: [] });
        this.emit("messages", r.id);
        break;
      }
      case "room-assigned":
      case "room-transferred":
      case "room-closed":
      case "system-message": {
        if (data.room) r.room = { ...r.room, ...data.room };
        else this._refreshRoom(r); // e.g. back in the queue: re-read the room
        if (name !== "room-closed" && r.room.status !== "queued") r.queue = null;
        r.notes.set(seq, { seq, kind: name, data, at: (data.room && data.room.assigned_at) || null });
        this.emit("room", r.id);
        this.emit("messages", r.id);
        this.emit("receipts", r.id);
        const short = { "room-assigned": "assigned", "room-transferred": "transferred", "room-closed": "closed" }[name];
        if (short) this.emit(short, data, replayed);
        break;
      }
      default:
        // Other modules apply what this store does not know (agent-tools.js: notes,
        // tags, ratings); the seq is deduped and counted above like any other.
        this.emit("timeline", r.id, name, data, replayed);
        break;
    }
  }

  // The latest page holds messages only: the room's notes (assigned, transferred with
  // the note for the next agent, closed, system lines) in the same window come from the
  // REST replay. Display only: cursors and dedupe are not touched.
  async _loadNotes(r, afterSeq) {
    try {
      const page = await api.get(
        `/api/chat/rooms/${encodeURIComponent(r.id)}/events?after_seq=${afterSeq}&limit=1000`,
      );
      let added = false;
      for (const item of page.events || []) {
        const kind = item.event;
        if (!NOTE_EVENTS.has(kind) || r.notes.has(item.data.seq)) continue;
        r.notes.set(item.data.seq, { seq: item.data.seq, kind, data: item.data });
        added = true;
      }
      if (added && this.rooms.get(r.id) === r) this.emit("messages", r.id);
    } catch (err) {
      /* notes are a nicety */
    }
  }

  async _refreshRoom(r) {
    try {
      const room = await api.get(`/api/chat/rooms/${encodeURIComponent(r.id)}`);
      if (this.rooms.get(r.id) === r) {
        r.room = { ...r.room, ...room };
        this.emit("room", r.id);
      }
    } catch (err) {
      /* the next event or reload brings it */
    }
  }

  _upsert(r, message) {
    const old = r.messages.get(message.id);
    // A stale copy (older edit state) never overwrites a newer one.
    if (old && old.deleted && !message.deleted) return;
    r.messages.set(message.id, { ...(old || {}), ...message });
  }

  _mergeWatermarks(r, marks) {
    for (const [userId, wm] of Object.entries(marks)) {
      const old = mark(r.watermarks[userId]);
      const next = mark(wm);
      r.watermarks[userId] = {
        last_delivered_seq: Math.max(old.last_delivered_seq, next.last_delivered_seq),
        last_read_seq: Math.max(old.last_read_seq, next.last_read_seq),
      };
    }
  }

  _watermark(data) {
    const r = this.rooms.get(data.room_id);
    if (!r) return;
    this._mergeWatermarks(r, { [data.user_id]: data });
    this.emit("receipts", r.id);
  }

  _typing(data) {
    const r = this.rooms.get(data.room_id);
    if (!r || data.user_id === this.me) return;
    const old = r.typing.get(data.user_id);
    if (old) clearTimeout(old.timer);
    r.typing.delete(data.user_id);
    if (data.is_typing) {
      const ttl = typeof data.ttl_ms === "number" ? data.ttl_ms : 5000;
      const timer = setTimeout(() => {
        r.typing.delete(data.user_id);
        this.emit("typing", r.id);
      }, ttl);
      r.typing.set(data.user_id, { name: this._nameOf(r, data.user_id, data.username), timer });
    }
    this.emit("typing", r.id);
  }

  _nameOf(r, userId, fallback) {
    for (const person of [r.room.agent, r.room.customer]) {
      if (person && person.id === userId) return person.display_name || person.username;
    }
    return fallback || "Someone";
  }

  _queue(data) {
    this.queueInfo.set(data.room_id, data);
    const r = this.rooms.get(data.room_id);
    if (r) r.queue = data;
    this.emit("queue", data);
    if (r) this.emit("room", r.id);
  }

  // --- receipts -----------------------------------------------------------------------

  myMark(r) {
    return mark(r.watermarks[this.me]);
  }

  // Status of one of my messages from the other participants' watermarks.
  statusOf(r, message) {
    const others = [r.room.customer, r.room.agent]
      .filter((person) => person && person.id !== this.me)
      .map((person) => mark(r.watermarks[person.id]));
    if (!others.length) return "sent";
    if (others.every((wm) => wm.last_read_seq >= message.seq)) return "read";
    if (others.every((wm) => wm.last_delivered_seq >= message.seq)) return "delivered";
    return "sent";
  }

  unreadCount(r) {
    const read = this.myMark(r).last_read_seq;
    let local = 0;
    for (const m of r.messages.values()) {
      if (m.seq > read && !m.deleted && (!m.sender || m.sender.id !== this.me)) local += 1;
    }
    if (!r.loaded) return r.serverUnread;
    const oldest = r.oldestSeq;
    if (r.hasOlder && oldest !== null && oldest > read + 1) return Math.max(local, r.serverUnread);
    return local;
  }

  _latestFromOthers(r) {
    let top = 0;
    for (const m of r.messages.values()) {
      if (!m.sender || m.sender.id !== this.me) top = Math.max(top, m.seq);
    }
    return top;
  }

  _scheduleDelivered(r) {
    clearTimeout(this.receiptTimers.get(r.id));
    this.receiptTimers.set(
      r.id,
      setTimeout(() => {
        const top = this._latestFromOthers(r);
        if (top > this.myMark(r).last_delivered_seq && top > r.sentDelivered) {
          this._receipt(r, "message-delivered", top);
        }
      }, 100),
    );
  }

  // The page calls this for messages of others it has shown in a visible window.
  markRead(roomId, seq) {
    const r = this.rooms.get(roomId);
    if (!r || !r.loaded) return;
    if (seq > this.myMark(r).last_read_seq && seq > r.sentRead) this._receipt(r, "message-read", seq);
  }

  _receipt(r, event, seq) {
    const key = event === "message-read" ? "sentRead" : "sentDelivered";
    r[key] = Math.max(r[key], seq);
    if (event === "message-read") r.sentDelivered = Math.max(r.sentDelivered, seq);
    this.socket
      .request(event, { room_id: r.id, up_to_seq: seq })
      .then((answer) => {
        this._mergeWatermarks(r, { [this.me]: answer });
        this.emit("receipts", r.id);
        if (event === "message-read") this.emit("read", r.id);
      })
      .catch(() => {
        r[key] = 0; // sent again on the next chance
      });
  }

  // --- typing -------------------------------------------------------------------------

  // Call with true on every keystroke: the server hears at most one `typing` per
  // 1.5 s, and `false` follows 3 s after the last keystroke (or on send).
  setTyping(roomId, typing) {
    const r = this.rooms.get(roomId);
    if (!r || !this.socket.isOpen) return;
    clearTimeout(r.myTypingTimer);
    if (typing) {
      const now = Date.now();
      if (!r.myTyping || now - r.myTypingAt > 1500) {
        r.myTyping = true;
        r.myTypingAt = now;
        this.socket.request("typing", { room_id: roomId, is_typing: true }).catch(() => {});
      }
      r.myTypingTimer = setTimeout(() => this.setTyping(roomId, false), 3000);
    } else if (r.myTyping) {
      r.myTyping = false;
      this.socket.request("typing", { room_id: roomId, is_typing: false }).catch(() => {});
    }
  }

  typingNames(roomId) {
    const r = this.rooms.get(roomId);
    return r ? [...r.typing.values()].map((t) => t.name) : [];
  }

  // --- sending ------------------------------------------------------------------------

  sendMessage(roomId, text, attachments = []) {
    const item = {
      room_id: roomId,
      client_msg_id: uuid(),
      text,
      attachment_ids: attachments.map((a) => a.id),
      attachments,
      created_at: new Date().toISOString(),
      failed: null,
    };
    this.outbox.add(item);
    this.setTyping(roomId, false);
    this.emit("outbox", roomId);
    this._pump();
    return item;
  }

  pendingFor(roomId) {
    return this.outbox.forRoom(roomId);
  }

  discard(clientMsgId) {
    const item = this.outbox.get(clientMsgId);
    if (item && this.outbox.remove(clientMsgId)) this.emit("outbox", item.room_id);
  }

  retry(clientMsgId) {
    const item = this.outbox.get(clientMsgId);
    if (!item) return;
    item.failed = null;
    this.outbox.save();
    this.emit("outbox", item.room_id);
    this._pump();
  }

  // Send the outbox in order, one at a time, for rooms that are joined.
  async _pump() {
    if (this.pumping) return;
    this.pumping = true;
    clearTimeout(this.pumpTimer);
    try {
      while (this.socket.isOpen) {
        const item = this.outbox.items.find((it) => !it.failed && this.rooms.get(it.room_id)?.loaded);
        if (!item) break;
        try {
          const answer = await this.socket.request("send-message", {
            room_id: item.room_id,
            client_msg_id: item.client_msg_id,
            text: item.text,
            attachment_ids: item.attachment_ids,
          });
          const r = this.rooms.get(item.room_id);
          if (r && answer.message) this._upsert(r, answer.message);
          this.outbox.remove(item.client_msg_id);
          this.emit("outbox", item.room_id);
          this.emit("messages", item.room_id);
        } catch (err) {
          if (RETRYABLE.has(err.code)) {
            if (err.code !== "disconnected") {
              this.pumpTimer = setTimeout(() => this._pump(), 2000);
            }
            break; // the next open (or the timer) sends it again, same client_msg_id
          }
          if (err.code === "idempotency_conflict") {
            this.outbox.remove(item.client_msg_id); // the server holds another message under it
          } else {
            item.failed = err.message || err.code;
            this.outbox.save();
          }
          this.emit("outbox", item.room_id);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  // --- edits, deletes, history --------------------------------------------------------

  async editMessage(roomId, messageId, text) {
    const answer = await this.socket.request("edit-message", { room_id: roomId, message_id: messageId, text });
    const r = this.rooms.get(roomId);
    if (r && answer.message) {
      this._upsert(r, answer.message);
      this.emit("messages", roomId);
    }
    return answer;
  }

  async deleteMessage(roomId, messageId) {
    const answer = await this.socket.request("delete-message", { room_id: roomId, message_id: messageId });
    const r = this.rooms.get(roomId);
    const message = r && r.messages.get(messageId);
    if (message) {
      r.messages.set(messageId, { ...message, deleted: true, text: "", attachments: [] });
      this.emit("messages", roomId);
    }
    return answer;
  }

  // One page of older messages over REST; false when there is nothing older.
  async loadOlder(roomId, limit = 50) {
    const r = this.rooms.get(roomId);
    if (!r || !r.hasOlder || r.loadingOlder) return false;
    const before = r.oldestSeq;
    if (before === null) return false;
    r.loadingOlder = true;
    try {
      const page = await api.get(
        `/api/chat/rooms/${encodeURIComponent(roomId)}/messages?before_seq=${before}&limit=${limit}`,
      );
      for (const message of page.results) this._upsert(r, message);
      r.hasOlder = !!page.next;
      this._mergeWatermarks(r, page.watermarks || {});
      this.emit("messages", roomId);
      return true;
    } finally {
      r.loadingOlder = false;
    }
  }

  async setAgentStatus(status, acceptingChats) {
    const data = { status };
    if (acceptingChats !== undefined) data.accepting_chats = acceptingChats;
    if (this.socket.isOpen) return this.socket.request("agent-status-update", data);
    return api.put("/api/auth/status", data);
  }
}
