// The per-room store the pages render from (ChatClient): follows rooms, applies server
// events once each and resumes after a reconnect; room-actions.js holds what pages call.

import { api } from "./rest.js";
import { Outbox, RoomActions, mark } from "./room-actions.js";
import { Socket, wsUrl } from "./socket.js";

// Staff only (a customer's socket never receives them): private notes, tags, the
// rating, SLA flags. Applied by agent-tools.js and sla-flags.js through the "timeline"
// event below.
const STAFF_EVENTS = ["note-added", "note-updated", "note-deleted", "room-tagged", "room-untagged", "room-rated", "room-sla"];

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
    // Staff: the seq at which the room last came to a new agent from another one (a
    // transfer, or back to the queue from an agent): unread counts start there.
    this.handoverSeq = 0;
    this.statusSeen = new Map(); // my message id -> the highest status shown (never lower)
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

// The store the pages render from. Events (`on(name, fn)`):
//   state(socketState), room(roomId), messages(roomId), receipts(roomId), typing(roomId),
//   assigned(data), transferred(data), closed(data), queue(data), lost(roomId, code),
//   presence(data), unauthenticated(), resumed(), timeline(roomId, event, data, replayed)
export class ChatClient extends RoomActions {
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
  // `handoverSeq`: the room just came to us from another agent at that seq.
  track(room, { handoverSeq = 0 } = {}) {
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
    r.handoverSeq = Math.max(r.handoverSeq, handoverSeq || 0);
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

  _lost(roomId, code, data = null) {
    const r = this.rooms.get(roomId);
    if (!r) return;
    this.rooms.delete(roomId);
    this.emit("lost", roomId, code, data);
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
        this._handover(r, name, data);
        // Taken from me and put back in a queue: no longer mine to follow (nor to read).
        if (name === "system-message" && data.from_agent && data.from_agent.id === this.me) {
          this._lost(r.id, "requeued", data);
          break;
        }
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
        if (!NOTE_EVENTS.has(kind)) continue;
        if (this._handover(r, kind, item.data)) added = true;
        if (r.notes.has(item.data.seq)) continue;
        r.notes.set(item.data.seq, { seq: item.data.seq, kind, data: item.data });
        added = true;
      }
      if (added && this.rooms.get(r.id) === r) this.emit("messages", r.id);
    } catch (err) {
      /* notes are a nicety */
    }
  }

  // A room that another agent had before: what came before the hand-over is theirs, not
  // unread for the next one (issue 31, item 7). True when it moved the mark.
  _handover(r, name, data) {
    const moved = name === "room-transferred" || (name === "system-message" && data.from_agent);
    if (!moved || typeof data.seq !== "number" || data.seq <= r.handoverSeq) return false;
    r.handoverSeq = data.seq;
    return true;
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
}
