// One line of the conversation pane (RoomView extends it): a message with its edit and
// delete, an unsent one from the outbox, or a room note, and the signature that redraws it.

import { banner, config, confirmed, el, errorText, keepAsking, nameOf, sizeOf, timeOf } from "./dom.js";
import { IMAGE_TYPES, thumbnail } from "./lightbox.js";

const MARKS = {
  queued: "Waiting for the connection",
  sending: "Sending…",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
};
const TICKS = { queued: "\u25cb", sending: "\u2026", sent: "\u2713", delivered: "\u2713\u2713", read: "\u2713\u2713", failed: "!" };

export class MessageLines {
  // The registry documented on RoomView (room-view.js), which inherits it as RoomView.lines.
  static lines = {};

  _mine(message) {
    return message.sender && message.sender.id === this.client.me;
  }

  _editable(message) {
    if (!this._mine(message) || message.deleted) return false;
    if (this.state?.room.status === "closed") return false;
    const age = (Date.now() - Date.parse(message.created_at)) / 1000;
    return age < (config.editWindowSeconds || 900) - 5;
  }

  _signature(r, item) {
    if (item.note) return MessageLines.lines[item.note.kind]?.sig(item.note) ?? "note";
    if (item.pending) return `p:${item.pending.failed || ""}|${this._pendingStatus(item.pending)}`;
    const m = item.message;
    const status = this._mine(m) ? this.client.statusOf(r, m) : "";
    return [m.text, m.deleted, m.edited_at, status, this._editable(m), this.editing === m.id].join("|");
  }

  _render(r, item) {
    if (item.note) return this._renderNote(item.note);
    if (item.pending) return this._renderPending(item.pending);
    return this._renderMessage(r, item.message);
  }

  _renderNote(note) {
    const custom = MessageLines.lines[note.kind];
    if (custom) return custom.render(note, this);
    const data = note.data;
    let text = "";
    if (note.kind === "room-assigned") {
      text = `${nameOf(data.agent || data.room?.agent) || "An agent"} joined the chat`;
    } else if (note.kind === "room-transferred" && data.reason === "ring_no_answer" && this.client.user.role === "user") {
      text = data.text; // issue 30: passed on, the agent did not answer
    } else if (note.kind === "room-transferred") {
      text = `Transferred from ${nameOf(data.from_agent) || "an agent"} to ${nameOf(data.to_agent) || "another agent"}`;
      if (data.reason === "ring_no_answer") text += " (no answer in time)";
      if (data.note && this.client.user.role !== "user") text += `: “${data.note}”`;
    } else if (note.kind === "room-closed") {
      text = "The chat was closed";
    } else {
      text = data.text || "";
    }
    return el("li", { class: "note", dataset: { key: `n:${note.seq}`, seq: String(note.seq) }, text });
  }

  // Files as download links; pictures also as a thumbnail that opens them full size.
  _attachments(list) {
    if (!list || !list.length) return null;
    return el(
      "ul",
      { class: "attachments" },
      ...list.map((a) => {
        const url = a.url || `/api/chat/attachments/${a.id}`;
        const picture = IMAGE_TYPES.has(a.content_type);
        return el(
          "li",
          { class: picture ? "picture" : "" },
          picture ? thumbnail(a, url) : null,
          el("a", { href: url, download: a.filename, text: a.filename }),
          el("span", { class: "size", text: ` ${sizeOf(a.size || 0)}` }),
        );
      }),
    );
  }

  // Not sent yet: "queued" while there is no connection (it goes once there is one).
  _pendingStatus(item) {
    if (item.failed) return "failed";
    return this.client.socket.isOpen ? "sending" : "queued";
  }

  _renderPending(item) {
    const status = this._pendingStatus(item);
    const node = el(
      "li",
      { class: "msg mine pending", dataset: { key: `o:${item.client_msg_id}`, status, clientMsgId: item.client_msg_id } },
      el("div", { class: "bubble" }, el("div", { class: "text", text: item.text }), this._attachments(item.attachments)),
      el(
        "div",
        { class: "meta" },
        el("span", { class: "mark", dataset: { mark: status }, title: MARKS[status], text: `${TICKS[status]} ${MARKS[status]}` }),
        item.failed ? el("span", { class: "why", text: ` · ${item.failed} ` }) : null,
        item.failed ? el("button", { type: "button", class: "link", text: "Retry", onclick: () => this.client.retry(item.client_msg_id) }) : null,
        item.failed ? el("button", { type: "button", class: "link", text: "Discard", onclick: () => this.client.discard(item.client_msg_id) }) : null,
      ),
    );
    return node;
  }

  _renderMessage(r, m) {
    const mine = this._mine(m);
    const status = mine ? this.client.statusOf(r, m) : null;
    const body = el("div", { class: "bubble" });
    if (m.deleted) {
      body.append(el("div", { class: "text deleted", text: "Message deleted" }));
    } else if (this.editing === m.id) {
      const input = el("textarea", { class: "edit-text", rows: "2", "aria-label": "Edit message" });
      input.value = m.text;
      const save = async () => {
        const text = input.value.trim();
        if (!text && !(m.attachments && m.attachments.length)) return;
        try {
          await this.client.editMessage(r.id, m.id, text);
          this.editing = null;
          this.renderMessages();
        } catch (err) {
          banner(`Could not edit: ${errorText(err)}`, "error");
        }
      };
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey) {
          event.preventDefault();
          save();
        } else if (event.key === "Escape") {
          this.editing = null;
          this.renderMessages();
        }
      });
      body.append(
        input,
        el(
          "div",
          { class: "edit-buttons" },
          el("button", { type: "button", class: "primary small", text: "Save", onclick: save }),
          el("button", {
            type: "button",
            class: "link",
            text: "Cancel",
            onclick: () => {
              this.editing = null;
              this.renderMessages();
            },
          }),
        ),
      );
      setTimeout(() => input.focus(), 0);
    } else {
      if (m.text) body.append(el("div", { class: "text", text: m.text }));
      const files = this._attachments(m.attachments);
      if (files) body.append(files);
    }
    const meta = el(
      "div",
      { class: "meta" },
      mine ? null : el("span", { class: "sender", text: `${nameOf(m.sender)} · ` }),
      el("time", { datetime: m.created_at, text: timeOf(m.created_at) }),
      m.edited_at && !m.deleted ? el("span", { class: "edited", text: " · edited" }) : null,
      mine ? el("span", { class: "mark", dataset: { mark: status }, title: MARKS[status], text: ` ${TICKS[status]} ${MARKS[status]}` }) : null,
    );
    if (this._editable(m) && this.editing !== m.id) {
      const del = el("button", { type: "button", class: "link", dataset: { action: "delete" }, text: "Delete" });
      keepAsking(del, `delete:${m.id}`);
      del.addEventListener("click", async () => {
        if (!confirmed(del, "Delete?", "Delete", `delete:${m.id}`)) return;
        try {
          await this.client.deleteMessage(r.id, m.id);
        } catch (err) {
          banner(`Could not delete: ${errorText(err)}`, "error");
        }
      });
      meta.append(
        el("span", { class: "actions" },
          el("button", {
            type: "button",
            class: "link",
            dataset: { action: "edit" },
            text: "Edit",
            onclick: () => {
              this.editing = m.id;
              this.renderMessages();
            },
          }),
          del,
        ),
      );
    }
    const line = el(
      "li",
      {
        class: `msg ${mine ? "mine" : "theirs"}${m.sender && m.sender.role !== "user" && !mine ? " staff" : ""}`,
        dataset: { key: `m:${m.id}`, id: m.id, seq: String(m.seq), status: status || "", clientMsgId: m.client_msg_id || "" },
      },
      body,
      meta,
    );
    // Touch screens have no hover: a tap on the message shows its Edit and Delete.
    if (meta.querySelector(".actions")) body.addEventListener("click", () => line.classList.toggle("reveal"));
    return line;
  }
}
