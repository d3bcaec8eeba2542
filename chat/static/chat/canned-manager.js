// Managing canned responses from the console (issue 31, item 8): a dialog that lists the
// shared responses and the agent's own, adds one, edits and deletes the agent's own
// (admins: the shared ones too; an agent's shared ones are read only). REST only:
// GET/POST /api/chat/canned-responses, PATCH/DELETE /api/chat/canned-responses/{id}.
// Opened from the sidebar's "Canned responses" button and from the "/" menu's empty state.

import { api } from "./client.js";
import { $, clearFieldErrors, confirmed, el, errorText, fieldMessages, show, showFieldErrors } from "./ui.js";

export class CannedManager {
  constructor(user, onChange) {
    this.user = user;
    this.onChange = onChange; // the "/" menu reads the responses again
    this.items = [];
    this.editing = null; // the response being edited, or null: adding
    this.build();
  }

  canChange(item) {
    return item.shared ? this.user.role === "admin" : true;
  }

  build() {
    this.list = el("ul", { class: "canned-list", dataset: { cannedList: "" } });
    this.empty = el("p", { class: "empty", dataset: { cannedEmpty: "" }, text: "No canned responses yet: add your first one below.", hidden: true });
    this.shortcut = el("input", { name: "shortcut", maxlength: "33", placeholder: "e.g. hello", autocomplete: "off" });
    this.text = el("textarea", { name: "text", rows: "3", placeholder: "Hello {customer_name}, this is {agent_name}. How can I help?" });
    this.error = el("p", { class: "form-error", hidden: true });
    this.submit = el("button", { type: "submit", class: "primary", text: "Add" });
    this.cancel = el("button", { type: "button", class: "link", text: "Cancel", hidden: true, onclick: () => this.startAdd() });
    this.heading = el("h3", { text: "New response" });
    this.form = el(
      "form",
      { class: "canned-form", dataset: { cannedForm: "" }, novalidate: true },
      this.heading,
      el("label", {}, "Shortcut (typed after /) ", this.shortcut),
      el("label", {}, "Text ", this.text),
      el("p", { class: "hint", text: "{customer_name} and {agent_name} are filled in for each chat." }),
      this.error,
      el("div", { class: "canned-buttons" }, this.submit, this.cancel),
    );
    this.dialog = el(
      "dialog",
      { class: "canned-manager", dataset: { cannedManager: "" }, "aria-label": "Canned responses" },
      el(
        "div",
        { class: "dialog-head" },
        el("h2", { text: "Canned responses" }),
        el("button", { type: "button", class: "link", dataset: { cannedClose: "" }, text: "Close", onclick: () => this.dialog.close() }),
      ),
      el("p", { class: "hint", text: "In a chat, type / and the start of a shortcut, then Enter or Tab." }),
      this.list,
      this.empty,
      this.form,
    );
    document.body.append(this.dialog);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
  }

  async open({ shortcut = "" } = {}) {
    this.startAdd();
    this.shortcut.value = shortcut;
    if (!this.dialog.open) this.dialog.showModal();
    await this.load();
    (shortcut ? this.text : this.shortcut).focus();
  }

  async load() {
    try {
      const answer = await api.get("/api/chat/canned-responses");
      this.items = answer.results || [];
      show(this.error, false);
    } catch (err) {
      this.fail(`Could not load the responses: ${errorText(err)}`);
    }
    this.render();
  }

  render() {
    const sorted = [...this.items].sort((a, b) => a.shortcut.localeCompare(b.shortcut) || Number(a.shared) - Number(b.shared));
    this.list.replaceChildren(...sorted.map((item) => this.row(item)));
    show(this.empty, !sorted.length);
  }

  row(item) {
    const actions = this.canChange(item)
      ? el(
          "span",
          { class: "actions" },
          el("button", { type: "button", class: "link", dataset: { action: "edit-canned" }, text: "Edit", onclick: () => this.startEdit(item) }),
          this.deleteButton(item),
        )
      : null;
    return el(
      "li",
      { dataset: { cannedId: item.id, shortcut: item.shortcut } },
      el("strong", { class: "shortcut", text: `/${item.shortcut}` }),
      el("span", { class: "kind", text: item.shared ? "shared" : "mine" }),
      actions,
      el("div", { class: "canned-text", text: item.text }),
    );
  }

  deleteButton(item) {
    const button = el("button", { type: "button", class: "link danger", dataset: { action: "delete-canned" }, text: "Delete" });
    button.addEventListener("click", async () => {
      if (!confirmed(button, "Delete?", "Delete")) return;
      try {
        await api.del(`/api/chat/canned-responses/${encodeURIComponent(item.id)}`);
        this.items = this.items.filter((other) => other.id !== item.id);
        if (this.editing && this.editing.id === item.id) this.startAdd();
        this.render();
        this.onChange();
      } catch (err) {
        this.fail(`Could not delete /${item.shortcut}: ${errorText(err)}`);
      }
    });
    return button;
  }

  startAdd() {
    this.editing = null;
    this.form.reset();
    clearFieldErrors(this.form);
    show(this.error, false);
    this.heading.textContent = "New response";
    this.submit.textContent = "Add";
    show(this.cancel, false);
  }

  startEdit(item) {
    this.startAdd();
    this.editing = item;
    this.shortcut.value = item.shortcut;
    this.text.value = item.text;
    this.heading.textContent = `Edit /${item.shortcut}`;
    this.submit.textContent = "Save";
    show(this.cancel, true);
    this.text.focus();
  }

  fail(text) {
    this.error.textContent = text;
    show(this.error, true);
  }

  async save() {
    clearFieldErrors(this.form);
    show(this.error, false);
    const body = { shortcut: this.shortcut.value.trim().replace(/^\//, ""), text: this.text.value.trim() };
    const missing = {};
    if (!body.shortcut) missing.shortcut = "Give it a shortcut, such as hello.";
    if (!body.text) missing.text = "Write the text it puts in the message.";
    if (showFieldErrors(this.form, missing).length) return;
    try {
      if (this.editing) {
        const saved = await api.patch(`/api/chat/canned-responses/${encodeURIComponent(this.editing.id)}`, body);
        this.items = this.items.map((item) => (item.id === saved.id ? saved : item));
      } else {
        this.items.push(await api.post("/api/chat/canned-responses", body));
      }
      this.startAdd();
      this.render();
      this.onChange();
    } catch (err) {
      const fields = fieldMessages(err);
      if (err.code === "conflict") fields.shortcut = `/${body.shortcut} exists already: choose another shortcut, or edit that one.`;
      if (!showFieldErrors(this.form, fields).length) this.fail(errorText(err));
    }
  }
}

// The sidebar's button that opens the dialog.
export function cannedButton(manager) {
  return el("button", { type: "button", class: "link small", dataset: { cannedOpen: "" }, text: "Canned responses", onclick: () => manager.open() });
}
