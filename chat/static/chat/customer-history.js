// The customer's own chats (issue 31, item 9): "End chat" in the chat's head (a second
// click confirms; DELETE /api/chat/rooms/{id}), and on the start screen the earlier,
// closed chats (GET /api/chat/rooms?status=closed) to open again and read. Loaded by
// customer.js: `endChatButton(...)`, `pastChats(...)`.

import { api } from "./client.js";
import { $, banner, confirmed, el, errorText, nameOf, show } from "./ui.js";

const PAST_LIMIT = 20;

function dayOf(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const sameYear = date.getFullYear() === new Date().getFullYear();
  return date.toLocaleDateString([], { day: "numeric", month: "short", ...(sameYear ? {} : { year: "numeric" }) });
}

// "End chat" for the open (or waiting) chat; `roomId()` is the chat on screen.
export function endChatButton(view, client, roomId) {
  const button = $("[data-end-chat]", view.root);
  button.addEventListener("click", async () => {
    const id = roomId();
    if (!id || !confirmed(button, "End this chat?", "End chat")) return;
    button.dataset.confirm = "";
    button.textContent = "End chat";
    try {
      const room = await api.del(`/api/chat/rooms/${encodeURIComponent(id)}`);
      client.track(room);
    } catch (err) {
      banner(`Could not end the chat: ${errorText(err)}`, "error");
    }
  });
  const render = () => {
    const r = view.roomId ? client.room(view.roomId) : null;
    show(button, !!r && r.room.status !== "closed");
  };
  client.on("room", (id) => id === view.roomId && render());
  const renderHead = view.renderHead.bind(view);
  view.renderHead = () => {
    renderHead();
    render();
  };
}

// The list of earlier chats on the start screen; `open(room)` shows one.
export function pastChats(open) {
  const section = $("[data-past]");
  const list = $("[data-past-list]", section);

  async function refresh() {
    let rooms = [];
    try {
      const page = await api.get(`/api/chat/rooms?status=closed&limit=${PAST_LIMIT}`);
      rooms = page.results || [];
    } catch (err) {
      rooms = [];
    }
    list.replaceChildren(
      ...rooms.map((room) =>
        el(
          "li",
          { dataset: { roomId: room.id } },
          el(
            "button",
            {
              type: "button",
              class: "past-chat",
              onclick: async () => {
                try {
                  open(await api.get(`/api/chat/rooms/${encodeURIComponent(room.id)}`));
                } catch (err) {
                  banner(`Could not open that chat: ${errorText(err)}`, "error");
                }
              },
            },
            el("span", { class: "past-subject", text: room.subject || "Chat" }),
            el("span", { class: "past-meta", text: [room.agent ? `with ${nameOf(room.agent)}` : "", dayOf(room.closed_at || room.created_at)].filter(Boolean).join(" · ") }),
          ),
        ),
      ),
    );
    show(section, rooms.length > 0);
  }

  return { refresh, hide: () => show(section, false) };
}
