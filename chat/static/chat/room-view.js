// The conversation pane shared by both pages (RoomView): header, keyed message list, read
// receipts, older pages, composer and uploads; message-lines.js draws each line.

import { api } from "./rest.js";
import { $, banner, config, el, errorText, show, sizeOf } from "./dom.js";
import { MessageLines } from "./message-lines.js";

// The conversation pane: header, messages (keyed, updated in place), typing line and
// composer. `describe(room)` gives the header lines; `onRoom` is told of room changes.
// `RoomView.lines[kind] = {render(line, view) -> li, sig(line) -> string}` renders a kind
// of timeline line another module keeps in `r.notes` (agent-tools.js: private notes).
export class RoomView extends MessageLines {
  constructor(root, client, { describe, queueLine } = {}) {
    super();
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
    client.on("state", () => this.roomId && this.renderMessages()); // unsent lines say why
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
    this._bindDropAndPaste();
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

  // Files dropped on the conversation, or pasted into the message box (a screenshot from
  // the clipboard), are uploaded as the paperclip's are (issue 31, item 12).
  _bindDropAndPaste() {
    const canTake = (event) => {
      const r = this.state;
      return r && r.room.status !== "closed" && [...(event.dataTransfer?.types || [])].includes("Files");
    };
    this.root.addEventListener("dragover", (event) => {
      if (!canTake(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      this.root.classList.add("dropping");
    });
    this.root.addEventListener("dragleave", (event) => {
      if (!this.root.contains(event.relatedTarget)) this.root.classList.remove("dropping");
    });
    this.root.addEventListener("drop", (event) => {
      this.root.classList.remove("dropping");
      if (!canTake(event)) return;
      event.preventDefault();
      for (const file of event.dataTransfer.files) this._upload(file);
    });
    this.text.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files || [])];
      if (!files.length || !this.roomId) return;
      if (!event.clipboardData.getData("text/plain")) event.preventDefault();
      for (const file of files) this._upload(file);
    });
  }

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
