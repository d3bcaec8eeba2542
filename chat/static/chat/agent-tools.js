// The agent console's tools around the messages (issue 16): private notes in the
// timeline (add, edit, delete), canned responses completed from "/shortcut" in the
// composer (canned.js), the open chat's tags, and the customer's rating when it comes. Loaded by
// agent.js (`agentTools(client, view, user)`); it uses the public REST and socket
// contract only, and puts user values in with textContent only.
//
// Notes, tag changes and ratings are timeline lines: the client keeps them in
// `r.notes` by seq (from the live events through its "timeline" event, and from the
// REST replay it reads for the window on screen), and RoomView draws them with the
// renderers registered here in `RoomView.lines`.

import { CannedCompletion } from "./canned.js";
import { groupTagLines, ratedText, renderEventLine, renderTagGroup } from "./staff-lines.js";
import { cannedButton, CannedManager } from "./canned-manager.js";
import { api } from "./client.js";
import { $, banner, config, confirmed, el, errorText, keepAsking, nameOf, RoomView, show, timeOf } from "./ui.js";

function roomPath(roomId) {
  return `/api/chat/rooms/${encodeURIComponent(roomId)}`;
}

export function agentTools(client, view, user) {
  const tools = new Tools(client, view, user);
  tools.install();
  return tools;
}

class Tools {
  constructor(client, view, user) {
    this.client = client;
    this.view = view;
    this.user = user;
    this.editing = null; // the id of the note being edited
  }

  install() {
    this.client.on("timeline", (roomId, name, data, replayed) => this.apply(roomId, name, data, replayed));
    // A rating of a room no longer followed (closed rooms leave the list): a banner.
    this.client.socket.on("room-rated", (data) => {
      if (!this.client.room(data.room_id)) banner(ratedText(data), "info");
    });
    RoomView.lines["note-added"] = { render: (line) => this.renderNote(line), sig: (line) => this.noteSig(line) };
    for (const kind of ["room-tagged", "room-untagged", "room-rated"]) {
      RoomView.lines[kind] = { render: (line) => renderEventLine(line), sig: () => kind };
    }
    // Tag changes in a row by the same person are one line (issue 31, item 14).
    RoomView.lines["tag-group"] = {
      render: (group) => renderTagGroup(group),
      sig: (group) => group.lines.map((l) => `${l.kind}:${l.data.tag}`).join(","),
    };
    const items = this.view._items.bind(this.view);
    this.view._items = (r) => groupTagLines(items(r));
    this.buildNoteForm();
    this.buildTags();
    // Canned responses: "/" in the composer, and a dialog to manage them (sidebar).
    const completion = new CannedCompletion(this.client, this.view);
    completion.manager = new CannedManager(this.user, () => completion.invalidate());
    completion.bind();
    $(".presence-controls")?.append(cannedButton(completion.manager));
    // The pane's head is redrawn whenever the room changes or another one opens.
    const renderHead = this.view.renderHead.bind(this.view);
    this.view.renderHead = () => {
      renderHead();
      this.renderTools();
    };
  }

  get r() {
    return this.view.roomId ? this.client.room(this.view.roomId) : null;
  }

  // --- the timeline --------------------------------------------------------------------

  apply(roomId, name, data, replayed) {
    const r = this.client.room(roomId);
    if (!r) return;
    if (name === "note-added" || name === "room-tagged" || name === "room-untagged" || name === "room-rated") {
      if (typeof data.seq === "number") r.notes.set(data.seq, { seq: data.seq, kind: name, data });
    }
    if (name === "note-updated" || name === "note-deleted") {
      const id = name === "note-updated" ? data.note.id : data.note_id;
      for (const line of r.notes.values()) {
        if (line.kind !== "note-added" || line.data.note.id !== id) continue;
        const note = name === "note-updated" ? data.note : { ...line.data.note, deleted: true, text: "" };
        line.data = { ...line.data, note };
      }
    }
    if (name === "room-tagged" || name === "room-untagged") {
      const tags = new Set(r.room.tags || []);
      if (name === "room-tagged") tags.add(data.tag);
      else tags.delete(data.tag);
      r.room = { ...r.room, tags: [...tags] };
      this.client.emit("room", roomId);
    }
    if (name === "room-rated") {
      r.room = { ...r.room, rating: data.rating };
      if (!replayed && roomId !== this.view.roomId) banner(ratedText(data), "info");
      this.client.emit("room", roomId);
    }
    this.client.emit("messages", roomId);
  }

  noteSig(line) {
    const note = line.data.note;
    return ["note", note.text, note.deleted, note.edited_at, this.editing === note.id, this.canChange(note)].join("|");
  }

  canChange(note) {
    if (note.deleted || this.r?.room.status === "closed") return false;
    if (this.user.role === "admin") return true;
    if (!note.author || note.author.id !== this.client.me) return false;
    const age = (Date.now() - Date.parse(note.created_at)) / 1000;
    return age < (config.editWindowSeconds || 900) - 5;
  }

  renderNote(line) {
    const note = line.data.note;
    const label = note.transfer
      ? `Private note · transfer from ${nameOf(note.transfer.from_agent) || "an agent"} to ${nameOf(note.transfer.to_agent) || "an agent"}`
      : "Private note";
    const body = el("div", { class: "note-body" });
    if (note.deleted) {
      body.append(el("div", { class: "text deleted", text: "Note deleted" }));
    } else if (this.editing === note.id) {
      body.append(this.editBox(note));
    } else {
      body.append(el("div", { class: "text", text: note.text }));
    }
    const meta = el(
      "div",
      { class: "meta" },
      el("span", { class: "sender", text: `${nameOf(note.author) || "Someone"} · ` }),
      el("time", { datetime: note.created_at, text: timeOf(note.created_at) }),
      note.edited_at && !note.deleted ? el("span", { class: "edited", text: " · edited" }) : null,
    );
    if (this.canChange(note) && this.editing !== note.id) {
      meta.append(
        el(
          "span",
          { class: "actions" },
          el("button", { type: "button", class: "link", dataset: { action: "edit-note" }, text: "Edit", onclick: () => this.startEdit(note) }),
          confirmButton("Delete", { action: "delete-note" }, () => this.removeNote(note), `delete-note:${note.id}`),
        ),
      );
    }
    const item = el(
      "li",
      { class: "note private-note", dataset: { key: `n:${line.seq}`, seq: String(line.seq), noteId: note.id } },
      el("span", { class: "note-label", text: label }),
      body,
      meta,
    );
    // Touch screens: a tap shows Edit and Delete (style.css shows them on hover).
    if (meta.querySelector(".actions")) body.addEventListener("click", () => item.classList.toggle("reveal"));
    return item;
  }

  editBox(note) {
    const input = el("textarea", { class: "edit-text", rows: "2", "aria-label": "Edit note" });
    input.value = note.text;
    const save = async () => {
      const text = input.value.trim();
      if (!text) return;
      try {
        const answer = await api.patch(`${roomPath(this.view.roomId)}/notes/${note.id}`, { text });
        this.editing = null;
        this.apply(answer.room_id, "note-updated", { note: answer.note }, false);
      } catch (err) {
        banner(`Could not edit the note: ${errorText(err)}`, "error");
      }
    };
    const cancel = () => {
      this.editing = null;
      this.client.emit("messages", this.view.roomId);
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        save();
      } else if (event.key === "Escape") {
        cancel();
      }
    });
    setTimeout(() => input.focus(), 0);
    return el(
      "div",
      {},
      input,
      el(
        "div",
        { class: "edit-buttons" },
        el("button", { type: "button", class: "primary small", text: "Save", onclick: save }),
        el("button", { type: "button", class: "link", text: "Cancel", onclick: cancel }),
      ),
    );
  }

  startEdit(note) {
    this.editing = note.id;
    this.client.emit("messages", this.view.roomId);
  }

  async removeNote(note) {
    const roomId = this.view.roomId;
    try {
      await api.del(`${roomPath(roomId)}/notes/${note.id}`);
      this.apply(roomId, "note-deleted", { note_id: note.id }, false);
    } catch (err) {
      banner(`Could not delete the note: ${errorText(err)}`, "error");
    }
  }

  // --- adding a note ---------------------------------------------------------------------

  buildNoteForm() {
    const root = this.view.root;
    this.noteButton = el("button", { type: "button", dataset: { noteOpen: "" }, text: "Note", title: "A private note: only agents and admins see it" });
    $(".room-actions", root)?.prepend(this.noteButton);
    this.noteText = el("textarea", {
      name: "text",
      rows: "2",
      placeholder: "Private note: only agents and admins see it",
      "aria-label": "Private note",
      dataset: { noteText: "" },
    });
    this.noteError = el("p", { class: "form-error", hidden: true });
    this.noteForm = el(
      "form",
      { class: "note-form", dataset: { noteForm: "" }, hidden: true },
      this.noteText,
      el(
        "div",
        { class: "note-buttons" },
        el("button", { type: "submit", class: "primary", text: "Add note" }),
        el("button", { type: "button", class: "link", text: "Cancel", onclick: () => this.toggleNoteForm(false) }),
      ),
      this.noteError,
    );
    const anchor = $("[data-transfer-form]", root) || $(".room-head", root);
    anchor.after(this.noteForm);
    this.noteButton.addEventListener("click", () => this.toggleNoteForm(this.noteForm.hidden));
    this.noteForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addNote();
    });
    this.noteText.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.addNote();
      }
    });
  }

  toggleNoteForm(visible) {
    show(this.noteForm, visible);
    show(this.noteError, false);
    if (visible) this.noteText.focus();
  }

  async addNote() {
    const roomId = this.view.roomId;
    const text = this.noteText.value.trim();
    if (!roomId || !text) return;
    try {
      const note = await api.post(`${roomPath(roomId)}/notes`, { text });
      this.noteText.value = "";
      this.toggleNoteForm(false);
      const r = this.client.room(roomId);
      if (r && !r.notes.has(note.seq)) {
        r.notes.set(note.seq, { seq: note.seq, kind: "note-added", data: { room_id: roomId, seq: note.seq, note } });
        this.view.stick = true;
        this.client.emit("messages", roomId);
      }
    } catch (err) {
      this.noteError.textContent = errorText(err);
      show(this.noteError, true);
    }
  }

  // --- tags ------------------------------------------------------------------------------

  buildTags() {
    this.tagList = el("ul", { class: "tag-list", dataset: { tagList: "" } });
    this.tagInput = el("input", { name: "tag", maxlength: "32", placeholder: "Add a tag", "aria-label": "Add a tag", dataset: { tagInput: "" } });
    this.tagForm = el("form", { class: "tag-form", dataset: { tagForm: "" } }, this.tagInput);
    this.tagsBar = el("div", { class: "tags-bar", dataset: { tags: "" } }, this.tagList, this.tagForm);
    $(".room-head", this.view.root).after(this.tagsBar);
    this.tagForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const tag = this.tagInput.value.trim();
      if (!tag || !this.view.roomId) return;
      this.tagInput.value = "";
      await this.changeTag("post", tag);
    });
  }

  async changeTag(method, tag) {
    const roomId = this.view.roomId;
    try {
      const answer =
        method === "post"
          ? await api.post(`${roomPath(roomId)}/tags`, { tag })
          : await api.del(`${roomPath(roomId)}/tags/${encodeURIComponent(tag)}`);
      // This change on the tags as shown (the answer's list may miss a concurrent one).
      const r = this.client.room(roomId);
      if (r) {
        const tags = new Set(r.room.tags || []);
        if (method === "post") tags.add(answer.tag);
        else tags.delete(answer.tag);
        r.room = { ...r.room, tags: [...tags] };
        this.client.emit("room", roomId);
      }
    } catch (err) {
      banner(`Could not change the tags: ${errorText(err)}`, "error");
    }
  }

  renderTools() {
    const r = this.r;
    if (!r) return;
    const closed = r.room.status === "closed";
    this.noteButton.disabled = closed;
    if (closed) show(this.noteForm, false);
    this.tagInput.disabled = closed;
    const tags = [...(r.room.tags || [])].sort();
    this.tagList.replaceChildren(
      ...tags.map((tag) =>
        el(
          "li",
          { class: "tag", dataset: { tag } },
          el("span", { text: tag }),
          closed ? null : el("button", { type: "button", class: "link", "aria-label": `Remove the tag ${tag}`, text: "×", onclick: () => this.changeTag("del", tag) }),
        ),
      ),
    );
    const rating = r.room.rating;
    let line = $("[data-room-rating]", this.tagsBar);
    if (!line) {
      line = el("span", { class: "room-rating", dataset: { roomRating: "" } });
      this.tagsBar.append(line);
    }
    line.textContent = rating ? `Rated ${rating.score}/5${rating.comment ? `: “${rating.comment}”` : ""}` : "";
  }
}

function confirmButton(label, dataset, act, key) {
  const button = el("button", { type: "button", class: "link", dataset, text: label });
  keepAsking(button, key);
  button.addEventListener("click", () => {
    if (confirmed(button, `${label}?`, label, key)) act();
  });
  return button;
}
