// What the pages do through the room store: receipts, typing, sending through the
// outbox (kept in localStorage), edits, deletes, older pages. ChatClient extends it.

import { Emitter } from "./emitter.js";
import { api, uuid } from "./rest.js";

// Errors after which a send is retried with the same client_msg_id.
const RETRYABLE = new Set(["disconnected", "timeout", "rate_limited", "service_unavailable", "server_error"]);

// Messages not yet acknowledged, in localStorage: they survive a reload and are retried
// with the same client_msg_id, which the server stores at most once.
export class Outbox {
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

const RANK = { sent: 0, delivered: 1, read: 2 };

export function mark(wm) {
  return { last_delivered_seq: (wm && wm.last_delivered_seq) || 0, last_read_seq: (wm && wm.last_read_seq) || 0 };
}

// The half of ChatClient (room-store.js) a page calls; the rooms, the socket, the outbox
// and _upsert/_mergeWatermarks are ChatClient's.
export class RoomActions extends Emitter {
  // --- receipts -----------------------------------------------------------------------

  myMark(r) {
    return mark(r.watermarks[this.me]);
  }

  // Status of one of my messages: the furthest any other participant's watermarks reach,
  // the agent's who had the room before a transfer or a requeue included (they read it:
  // it stays read). A message's status never goes back (issue 31, item 2): the
  // highest shown is kept, whatever a later event says.
  statusOf(r, message) {
    const now = this._statusNow(r, message);
    const seen = r.statusSeen.get(message.id);
    if (seen && RANK[seen] >= RANK[now]) return seen;
    r.statusSeen.set(message.id, now);
    return now;
  }

  _statusNow(r, message) {
    let best = "sent";
    for (const [userId, wm] of Object.entries(r.watermarks)) {
      if (userId === this.me) continue;
      const { last_read_seq: read, last_delivered_seq: delivered } = mark(wm);
      const reached = read >= message.seq ? "read" : delivered >= message.seq ? "delivered" : "sent";
      if (RANK[reached] > RANK[best]) best = reached;
    }
    return best;
  }

  // Messages from others above my read mark; for staff, only those after the room came
  // to them from another agent (its earlier history is not theirs to read).
  unreadCount(r) {
    const floor = this.user.role === "user" ? 0 : r.handoverSeq;
    const from = Math.max(this.myMark(r).last_read_seq, floor);
    let local = 0;
    for (const m of r.messages.values()) {
      if (m.seq > from && !m.deleted && (!m.sender || m.sender.id !== this.me)) local += 1;
    }
    if (!r.loaded) return r.serverUnread;
    const oldest = r.oldestSeq;
    if (r.hasOlder && oldest !== null && oldest > from + 1) return Math.max(local, r.serverUnread);
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
