// The customer beside the chat (issue 31, item 16): in the console, a panel with the
// open chat's customer: whether they are online now (kept live from their
// user-status-changed), their e-mail address, since when they are a customer, and their
// earlier chats (subject, day, agent, rating). GET /api/chat/rooms/{id}/customer-context.
// Wide windows show it beside the conversation; narrower ones open it over the
// conversation with the "Customer" button of the chat's head.

import { api } from "./client.js";
import { $, el, errorText, nameOf, show } from "./ui.js";

const WIDE = "(min-width: 1100px)";

function day(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const sameYear = date.getFullYear() === new Date().getFullYear();
  return date.toLocaleDateString([], { day: "numeric", month: "short", ...(sameYear ? {} : { year: "numeric" }) });
}

export function customerPanel(client, view) {
  const state = { roomId: null, context: null, open: matchMedia(WIDE).matches };
  const panel = el("aside", { class: "customer-panel", dataset: { customerPanel: "" }, "aria-label": "Customer", hidden: true });
  $(".pane").append(panel);
  const toggle = el("button", { type: "button", dataset: { customerToggle: "" }, text: "Customer", "aria-expanded": "false" });
  $(".room-actions", view.root)?.prepend(toggle);
  toggle.addEventListener("click", () => {
    state.open = !state.open;
    render();
  });

  function row(label, value) {
    return el("div", { class: "ctx-row" }, el("dt", { text: label }), el("dd", {}, value));
  }

  function render() {
    const visible = !!state.roomId && state.open;
    show(panel, visible);
    panel.closest(".pane").classList.toggle("with-customer", visible);
    toggle.setAttribute("aria-expanded", String(visible));
    if (!visible) return;
    const ctx = state.context;
    if (!ctx) {
      panel.replaceChildren(el("p", { class: "empty", text: "Loading…" }));
      return;
    }
    if (ctx.error) {
      panel.replaceChildren(el("p", { class: "form-error", text: ctx.error }));
      return;
    }
    const c = ctx.customer;
    const presence = el("span", { class: `presence-dot${c.online ? " on" : ""}`, dataset: { customerOnline: String(c.online) }, text: c.online ? "Online now" : "Offline" });
    const email = c.email ? el("a", { href: `mailto:${c.email}`, dataset: { customerEmail: "" }, text: c.email }) : el("span", { class: "muted", text: "not shared" });
    const previous = ctx.previous.length
      ? el(
          "ul",
          { class: "ctx-previous", dataset: { customerPrevious: "" } },
          ...ctx.previous.map((room) =>
            el(
              "li",
              {},
              el("span", { class: "ctx-subject", text: room.subject || "No subject" }),
              el("span", {
                class: "ctx-meta",
                text: [day(room.created_at), room.agent ? nameOf(room.agent) : "no agent", room.status !== "closed" ? room.status : "", room.rating ? `★ ${room.rating.score}/5` : ""].filter(Boolean).join(" · "),
              }),
            ),
          ),
        )
      : el("p", { class: "muted", text: "This is their first chat." });
    panel.replaceChildren(
      el("h3", { class: "ctx-name", text: nameOf(c) }),
      el("p", { class: "ctx-username", text: `@${c.username}` }),
      el("dl", { class: "ctx-facts" }, row("Now", presence), row("E-mail", email), row("Customer since", document.createTextNode(day(c.date_joined)))),
      el("h4", { text: ctx.more ? "Earlier chats (latest 10)" : "Earlier chats" }),
      previous,
    );
  }

  async function load(roomId) {
    state.context = null;
    render();
    try {
      const context = await api.get(`/api/chat/rooms/${encodeURIComponent(roomId)}/customer-context`);
      if (state.roomId === roomId) state.context = context;
    } catch (err) {
      if (state.roomId === roomId) state.context = { error: `Could not load the customer: ${errorText(err)}` };
    }
    render();
  }

  // The pane tells which chat is open; a new one loads its customer.
  const open = view.open.bind(view);
  view.open = (roomId) => {
    open(roomId);
    if (roomId !== state.roomId) {
      state.roomId = roomId;
      if (roomId) load(roomId);
    }
    render();
  };
  const close = view.close.bind(view);
  view.close = () => {
    close();
    state.roomId = null;
    render();
  };
  client.on("presence", (data) => {
    const c = state.context && state.context.customer;
    if (!c || data.user_id !== c.id || typeof data.online !== "boolean") return;
    state.context = { ...state.context, customer: { ...c, online: data.online } };
    render();
  });
  matchMedia(WIDE).addEventListener("change", (event) => {
    state.open = event.matches;
    render();
  });
  return { render };
}
