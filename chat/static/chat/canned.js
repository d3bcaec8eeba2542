// Canned responses in the agent console (issue 16): typing "/" and the start of a
// shortcut as the whole message opens a menu of the matching responses (the shared
// ones and the agent's own, from GET /api/chat/canned-responses?room_id=, with their
// placeholders filled for the room; a personal one shadows a shared one of the same
// shortcut). Arrows choose, Enter or Tab puts the text in the composer, Escape closes.
// When nothing matches (or there are none yet), the menu says so and offers to create
// one (issue 31, item 8: "/" did nothing): Enter, Tab or a click opens the manager
// (canned-manager.js) with the shortcut typed so far. Used by agent-tools.js.

import { api } from "./client.js";
import { $, el, show } from "./ui.js";

const CANNED_FRESH_MS = 30_000;
const MENU_SIZE = 8;

export class CannedCompletion {
  constructor(client, view, manager = null) {
    this.client = client;
    this.view = view;
    this.manager = manager; // CannedManager: the empty state's "Create" opens it
    this.canned = new Map(); // room id -> {at, list}
    this.menu = { items: [], active: 0, open: false, prefix: "", none: false };
  }

  // The responses changed (the manager saved one): read them again on the next "/".
  invalidate() {
    this.canned.clear();
  }

  bind() {
    const form = $("[data-composer]", this.view.root);
    this.text = $("[data-text]", this.view.root);
    this.menuNode = el("ul", { class: "canned-menu", role: "listbox", dataset: { cannedMenu: "" }, hidden: true });
    form.append(this.menuNode);
    this.text.addEventListener("input", () => this.complete());
    this.text.addEventListener("blur", () => setTimeout(() => this.closeMenu(), 150));
    // Captured on the form: while the menu is open these keys are the menu's, and never
    // reach the composer's own Enter-to-send.
    form.addEventListener(
      "keydown",
      (event) => {
        if (!this.menu.open || event.target !== this.text) return;
        const { key } = event;
        if (this.menu.empty) {
          if (key === "Enter" || key === "Tab") this.create();
          else if (key === "Escape") this.closeMenu();
          else return;
        } else if (key === "ArrowDown" || key === "ArrowUp") {
          const n = this.menu.items.length;
          this.menu.active = (this.menu.active + (key === "ArrowDown" ? 1 : n - 1)) % n;
          this.renderMenu();
        } else if (key === "Enter" || key === "Tab") {
          this.pick(this.menu.items[this.menu.active]);
        } else if (key === "Escape") {
          this.closeMenu();
        } else {
          return;
        }
        event.preventDefault();
        event.stopPropagation();
      },
      true,
    );
  }

  async cannedFor(roomId) {
    const cached = this.canned.get(roomId);
    if (cached && Date.now() - cached.at < CANNED_FRESH_MS) return cached.list;
    const answer = await api.get(`/api/chat/canned-responses?room_id=${encodeURIComponent(roomId)}`);
    // A personal response shadows a shared one with the same shortcut.
    const byShortcut = new Map();
    for (const item of answer.results || []) {
      if (!byShortcut.has(item.shortcut) || !item.shared) byShortcut.set(item.shortcut, item);
    }
    const list = [...byShortcut.values()];
    this.canned.set(roomId, { at: Date.now(), list });
    return list;
  }

  async complete() {
    const roomId = this.view.roomId;
    const match = /^\/([\p{L}\p{N}_-]*)$/u.exec(this.text.value);
    if (!roomId || !match) {
      this.closeMenu();
      return;
    }
    let list;
    try {
      list = await this.cannedFor(roomId);
    } catch (err) {
      this.closeMenu();
      return;
    }
    if (this.view.roomId !== roomId || this.text.value !== match[0]) return; // typed on
    const prefix = match[1].toLowerCase();
    const items = list.filter((item) => item.shortcut.startsWith(prefix)).slice(0, MENU_SIZE);
    this.menu = { items, active: 0, open: true, prefix, none: !list.length, empty: !items.length };
    this.renderMenu();
  }

  create() {
    const prefix = this.menu.prefix;
    this.closeMenu();
    if (this.manager) this.manager.open({ shortcut: prefix });
  }

  renderMenu() {
    const { items, active, open } = this.menu;
    if (open && this.menu.empty) {
      const what = this.menu.none ? "No canned responses yet." : `No response starts with /${this.menu.prefix}.`;
      const label = this.menu.prefix ? `Create /${this.menu.prefix}…` : "Create one…";
      this.menuNode.replaceChildren(
        el(
          "li",
          { class: "canned-empty", dataset: { cannedEmpty: "" } },
          el("span", { class: "preview", text: what }),
          this.manager
            ? el("button", {
                type: "button",
                class: "link",
                dataset: { cannedCreate: "" },
                text: label,
                onmousedown: (event) => {
                  event.preventDefault();
                  this.create();
                },
              })
            : null,
        ),
      );
      show(this.menuNode, true);
      return;
    }
    this.menuNode.replaceChildren(
      ...items.map((item, index) =>
        el(
          "li",
          {
            role: "option",
            class: index === active ? "active" : "",
            "aria-selected": index === active ? "true" : "false",
            dataset: { shortcut: item.shortcut },
            onmousedown: (event) => {
              event.preventDefault();
              this.pick(item);
            },
          },
          el("span", { class: "shortcut", text: `/${item.shortcut}` }),
          el("span", { class: "preview", text: item.rendered || item.text }),
          item.shared ? null : el("span", { class: "mine", text: "mine" }),
        ),
      ),
    );
    show(this.menuNode, open);
  }

  closeMenu() {
    this.menu = { items: [], active: 0, open: false, prefix: "", none: false, empty: false };
    show(this.menuNode, false);
  }

  pick(item) {
    if (!item) return;
    this.closeMenu();
    this.text.value = item.rendered || item.text;
    this.text.dispatchEvent(new Event("input")); // the composer grows and says "typing"
    this.text.focus();
    this.text.setSelectionRange(this.text.value.length, this.text.value.length);
  }
}
