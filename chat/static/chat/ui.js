// DOM helpers and the conversation pane shared by the customer page and the agent
// console. User data is only ever set with textContent or attributes, never as HTML.

import { ApiError, api } from "./client.js";

export const config = JSON.parse(document.getElementById("chat-config")?.textContent || "{}");

export function $(selector, root = document) {
  return root.querySelector(selector);
}

// el("li", {class: "x", dataset: {id}}, child, "text") -> element; strings become text nodes.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

export function show(node, visible) {
  if (node) node.hidden = !visible;
}

export function nameOf(person) {
  return person ? person.display_name || person.username : "";
}

export function timeOf(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function sizeOf(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function waitText(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return "less than a minute";
  const minutes = Math.round(seconds / 60);
  return minutes === 1 ? "about 1 minute" : `about ${minutes} minutes`;
}

export function errorText(err) {
  if (err instanceof ApiError) return err.text;
  return (err && err.message) || String(err);
}

export function banner(text, kind = "info") {
  const node = $("[data-banner]");
  if (!node) return;
  node.textContent = text || "";
  node.dataset.kind = kind;
  show(node, !!text);
}

// The connection line in the top bar.
export function bindConnection(client) {
  const node = $("[data-conn]");
  const labels = { connecting: "Connecting…", reconnecting: "Offline · reconnecting…", "signed-out": "Signed out" };
  client.on("state", (state) => {
    node.textContent = labels[state] || "";
    node.dataset.state = state;
    show(node, state !== "open" && !!labels[state]);
  });
}

// Sign-in (and, on the customer page, sign-up) forms. Calls onSignedIn(user).
export function bindAuth(onSignedIn) {
  const section = $("[data-auth]");
  const loginForm = $("[data-login-form]", section);
  const registerForm = $("[data-register-form]", section);
  const fail = (form, err) => {
    const out = $("[data-error]", form);
    out.textContent = errorText(err);
    show(out, true);
  };
  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(loginForm);
    try {
      const user = await api.login(data.get("username").trim(), data.get("password"));
      show($("[data-error]", loginForm), false);
      loginForm.reset();
      onSignedIn(user);
    } catch (err) {
      fail(loginForm, err);
    }
  });
  if (registerForm) {
    registerForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(registerForm);
      const body = {
        username: data.get("username").trim(),
        email: data.get("email").trim(),
        password: data.get("password"),
      };
      const displayName = data.get("display_name").trim();
      if (displayName) body.display_name = displayName;
      try {
        await api.post("/api/auth/register", body);
        const user = await api.login(body.username, body.password);
        show($("[data-error]", registerForm), false);
        registerForm.reset();
        onSignedIn(user);
      } catch (err) {
        fail(registerForm, err);
      }
    });
  }
  return {
    show(visible) {
      show(section, visible);
      if (visible) $("input[name=username]", loginForm).focus();
    },
  };
}

export function bindSignOut(user) {
  const who = $("[data-who]");
  const button = $("[data-signout]");
  who.textContent = `${nameOf(user)} (${user.username})`;
  show(who, true);
  show(button, true);
  button.onclick = async () => {
    try {
      await api.logout();
    } finally {
      location.reload();
    }
  };
}

const MARKS = { sending: "Sending…", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Not sent" };
const TICKS = { sending: "\u2026", sent: "\u2713", delivered: "\u2713\u2713", read: "\u2713\u2713", failed: "!" };

// The conversation pane: header, messages (keyed, updated in place), typing line and
// composer. `describe(room)` gives the header lines; `onRoom` is told of room changes.
// `RoomView.lines[kind] = {render(line, view) -> li, sig(line) -> string}` renders a kind
// of timeline line another module keeps in `r.notes` (agent-tools.js: private notes).
export class RoomView {
  static lines = {};

  constructor(root, client, { describe, queueLine } = {}) {
    this.root = root;
    this.client = client;
    this.describe = describe || (() => ({ title: "", sub: "" }));
    this.queueLine = queueLine || (() => "");
    this.roomId = null;
    this.nodes = new Map(); // key -> li
    this.list = $("[data-message-list]", root);
    this.scroller = $("[data-messages]", root);
    this.text = $("[data-text]", root);
    this.form = $("[data-composer]", root);
    this.files = $("[data-files]", root);
    this.fileInput = $("[data-file-input]", root);
    this.olderButton = $("[data-older]", root);
    this.uploads = []; // {file, state, attachment, node}
    this.observer = new IntersectionObserver((entries) => this._seen(entries), {
      root: this.scroller,
      threshold: 0.5,
    });
    this.visibleSeqs = new Set();

    for (const name of ["messages", "outbox", "receipts"]) {
      client.on(name, (roomId) => roomId === this.roomId && this.renderMessages());
    }
    client.on("room", (roomId) => roomId === this.roomId && this.renderHead());
    client.on("typing", (roomId) => roomId === this.roomId && this.renderTyping());
    document.addEventListener("visibilitychange", () => this._readVisible());

    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    this.text.addEventListener("input", () => {
      this._grow();
      if (this.roomId) this.client.setTyping(this.roomId, this.text.value.trim() !== "");
    });
    this.text.addEventListener("blur", () => this.roomId && this.client.setTyping(this.roomId, false));
    this.fileInput.addEventListener("change", () => {
      for (const file of this.fileInput.files) this._upload(file);
      this.fileInput.value = "";
    });
    this.olderButton.addEventListener("click", () => this.loadOlder());
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < 40) this.loadOlder();
    });
  }

  open(roomId) {
    if (this.roomId !== roomId) {
      this.roomId = roomId;
      this.nodes.clear();
      this.list.replaceChildren();
      this.visibleSeqs.clear();
      this._clearUploads();
      this.text.value = "";
      this.stick = true;
    }
    show(this.root, !!roomId);
    this.render();
  }

  close() {
    this.roomId = null;
    this.nodes.clear();
    this.list.replaceChildren();
    show(this.root, false);
  }

  render() {
    this.renderHead();
    this.renderMessages();
    this.renderTyping();
  }

  get state() {
    return this.roomId ? this.client.room(this.roomId) : null;
  }

  renderHead() {
    const r = this.state;
    if (!r) return;
    const { title, sub } = this.describe(r.room, r);
    $("[data-room-title]", this.root).textContent = title;
    $("[data-room-sub]", this.root).textContent = sub;
    this.root.dataset.status = r.room.status;
    const queueInfo = $("[data-queue-info]", this.root);
    if (queueInfo) {
      const line = r.room.status === "queued" ? this.queueLine(r) : "";
      queueInfo.textContent = line;
      show(queueInfo, !!line);
    }
    const closed = r.room.status === "closed";
    show(this.form, !closed);
    show($("[data-closed-note]", this.root), closed);
    this.root.querySelectorAll("[data-transfer-open],[data-close-room]").forEach((b) => {
      b.disabled = closed;
    });
    this.renderMessages();
  }

  renderTyping() {
    const names = this.roomId ? this.client.typingNames(this.roomId) : [];
    const node = $("[data-typing]", this.root);
    node.textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
  }

  // Items in timeline order: messages and room notes by seq, then the unsent outbox.
  _items(r) {
    const items = [];
    for (const m of r.messages.values()) items.push({ key: `m:${m.id}`, seq: m.seq, message: m });
    const oldest = r.oldestSeq;
    for (const note of r.notes.values()) {
      if (oldest === null || note.seq > oldest || !r.hasOlder) items.push({ key: `n:${note.seq}`, seq: note.seq, note });
    }
    items.sort((a, b) => a.seq - b.seq);
    const sent = new Set([...r.messages.values()].map((m) => m.client_msg_id));
    for (const item of this.client.pendingFor(r.id)) {
      if (!sent.has(item.client_msg_id)) items.push({ key: `o:${item.client_msg_id}`, seq: Infinity, pending: item });
    }
    return items;
  }

  renderMessages() {
    const r = this.state;
    if (!r) return;
    const nearBottom = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 80;
    const previousHeight = this.scroller.scrollHeight;
    const previousTop = this.scroller.scrollTop;
    const firstKeyBefore = this.list.firstElementChild?.dataset.key;
    const items = this._items(r);
    const keep = new Set(items.map((i) => i.key));
    for (const [key, node] of this.nodes) {
      if (!keep.has(key)) {
        this.observer.unobserve(node);
        node.remove();
        this.nodes.delete(key);
      }
    }
    let cursor = null;
    for (const item of items) {
      const sig = this._signature(r, item);
      let node = this.nodes.get(item.key);
      if (!node || node.dataset.sig !== sig) {
        const fresh = this._render(r, item);
        fresh.dataset.sig = sig;
        if (node) {
          this.observer.unobserve(node);
          node.replaceWith(fresh);
        }
        node = fresh;
        this.nodes.set(item.key, node);
        if (item.message && !this._mine(item.message)) this.observer.observe(node);
      }
      const expected = cursor ? cursor.nextElementSibling : this.list.firstElementChild;
      if (expected !== node) {
        if (cursor) cursor.after(node);
        else this.list.prepend(node);
      }
      cursor = node;
    }
    show(this.olderButton, r.hasOlder);
    const prepended = firstKeyBefore && this.list.firstElementChild?.dataset.key !== firstKeyBefore;
    if (this.stick || nearBottom) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
      this.stick = false;
    } else if (prepended) {
      this.scroller.scrollTop = previousTop + (this.scroller.scrollHeight - previousHeight);
    }
  }

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
    if (item.note) return RoomView.lines[item.note.kind]?.sig(item.note) ?? "note";
    if (item.pending) return `p:${item.pending.failed || ""}`;
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
    const custom = RoomView.lines[note.kind];
    if (custom) return custom.render(note, this);
    const data = note.data;
    let text = "";
    if (note.kind === "room-assigned") {
      text = `${nameOf(data.agent || data.room?.agent) || "An agent"} joined the chat`;
    } else if (note.kind === "room-transferred") {
      text = `Transferred from ${nameOf(data.from_agent) || "an agent"} to ${nameOf(data.to_agent) || "another agent"}`;
      if (data.note && this.client.user.role !== "user") text += `: “${data.note}”`;
    } else if (note.kind === "room-closed") {
      text = "The chat was closed";
    } else {
      text = data.text || "";
    }
    return el("li", { class: "note", dataset: { key: `n:${note.seq}`, seq: String(note.seq) }, text });
  }

  _attachments(list) {
    if (!list || !list.length) return null;
    return el(
      "ul",
      { class: "attachments" },
      ...list.map((a) =>
        el(
          "li",
          {},
          el("a", { href: a.url || `/api/chat/attachments/${a.id}`, download: a.filename, text: a.filename }),
          el("span", { class: "size", text: ` ${sizeOf(a.size || 0)}` }),
        ),
      ),
    );
  }

  _renderPending(item) {
    const status = item.failed ? "failed" : "sending";
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
      del.addEventListener("click", async () => {
        if (del.dataset.confirm !== "1") {
          del.dataset.confirm = "1";
          del.textContent = "Delete?";
          setTimeout(() => {
            del.dataset.confirm = "";
            del.textContent = "Delete";
          }, 4000);
          return;
        }
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
    return el(
      "li",
      {
        class: `msg ${mine ? "mine" : "theirs"}${m.sender && m.sender.role !== "user" && !mine ? " staff" : ""}`,
        dataset: { key: `m:${m.id}`, id: m.id, seq: String(m.seq), status: status || "", clientMsgId: m.client_msg_id || "" },
      },
      body,
      meta,
    );
  }

  // Read receipts: a message of the other side counts as read once at least half of it
  // was on screen in a visible tab.
  _seen(entries) {
    for (const entry of entries) {
      const seq = Number(entry.target.dataset.seq);
      if (entry.isIntersecting) this.visibleSeqs.add(seq);
      else this.visibleSeqs.delete(seq);
    }
    this._readVisible();
  }

  _readVisible() {
    if (!this.roomId || document.visibilityState !== "visible" || this.root.hidden) return;
    if (!this.root.offsetParent) return; // the pane is not displayed (phone list view)
    let top = 0;
    for (const seq of this.visibleSeqs) top = Math.max(top, seq);
    if (top) this.client.markRead(this.roomId, top);
  }

  async loadOlder() {
    if (!this.roomId) return;
    try {
      await this.client.loadOlder(this.roomId);
    } catch (err) {
      banner(`Could not load older messages: ${errorText(err)}`, "error");
    }
  }

  _grow() {
    this.text.style.height = "auto";
    this.text.style.height = `${Math.min(this.text.scrollHeight, 160)}px`;
  }

  // --- attachments --------------------------------------------------------------------

  _clearUploads() {
    this.uploads = [];
    this.files.replaceChildren();
  }

  async _upload(file) {
    const upload = { file, state: "uploading", attachment: null };
    const label = el("span", { class: "name", text: file.name });
    const state = el("span", { class: "state", text: " uploading…" });
    const remove = el("button", { type: "button", class: "link", "aria-label": `Remove ${file.name}`, text: "×" });
    const chip = el("span", { class: "file-chip", dataset: { state: "uploading" } }, label, state, remove);
    upload.node = chip;
    remove.addEventListener("click", () => {
      this.uploads = this.uploads.filter((u) => u !== upload);
      chip.remove();
    });
    this.uploads.push(upload);
    this.files.append(chip);
    if (config.attachmentMaxBytes && file.size > config.attachmentMaxBytes) {
      upload.state = "failed";
      state.textContent = ` too large (max ${sizeOf(config.attachmentMaxBytes)})`;
      chip.dataset.state = "failed";
      return;
    }
    try {
      upload.attachment = await api.upload(this.roomId, file);
      upload.state = "done";
      state.textContent = ` ${sizeOf(upload.attachment.size)}`;
    } catch (err) {
      upload.state = "failed";
      state.textContent = ` ${errorText(err)}`;
    }
    chip.dataset.state = upload.state;
  }

  send() {
    if (!this.roomId) return;
    if (this.uploads.some((u) => u.state === "uploading")) {
      banner("Wait for the upload to finish.", "info");
      return;
    }
    const text = this.text.value.trim();
    const attachments = this.uploads.filter((u) => u.state === "done").map((u) => u.attachment);
    if (!text && !attachments.length) return;
    if (config.maxMessageChars && text.length > config.maxMessageChars) {
      banner(`A message holds at most ${config.maxMessageChars} characters.`, "error");
      return;
    }
    this.client.sendMessage(this.roomId, text, attachments);
    this.text.value = "";
    this._grow();
    this._clearUploads();
    this.stick = true;
    this.renderMessages();
    banner("");
  }
}
