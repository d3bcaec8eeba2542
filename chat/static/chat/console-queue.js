// The console's queue (issue 31, item 6): every waiting chat with its place, team and
// wait; "Take" only where taking can work. A chat of a team the agent does not serve
// has no button (it says whose it is); while the agent is not accepting chats, not
// online or full, the buttons are off and one line above the list says why. A refusal
// of the server (someone was faster) is said in the banner, which the next action clears.
// A chat nearing or past its SLA target carries the flag the room lists show.

import { api } from "./client.js";
import { $, banner, el, errorText, nameOf, show, waitText } from "./ui.js";
import { inTeamQueues, servesTeam, teamTag } from "./teams.js";
import { slaFlags } from "./sla-flags.js";

const QUEUE_POLL_MS = 4000;

function since(iso) {
  if (!iso) return "";
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return "just now";
  const minutes = Math.round(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

// `user`: the signed-in agent (status, accepting_chats, max_chats kept current by the
// page); `openChats()`: how many chats they hold; `onTaken(room)`: follow it.
export function bindQueue({ user, openChats, onTaken }) {
  const state = { rooms: [], available: true, timer: null };
  const hint = el("p", { class: "queue-hint", dataset: { queueHint: "" }, hidden: true });
  $("[data-queue-list]").before(hint);

  // Why this agent cannot take chats now ("" if they can).
  function cannotTake() {
    if (user.role !== "agent") return "Chats are assigned to agents; admins route them in the admin.";
    if (user.status !== "online") return "Set your status to Online to take chats from the queue.";
    if (user.accepting_chats === false) return "Turn on “Accepting chats” to take chats from the queue.";
    if (user.max_chats && openChats() >= user.max_chats) {
      return `You have no free slot (${openChats()} of ${user.max_chats} chats): close one to take another.`;
    }
    return "";
  }

  async function refresh() {
    clearTimeout(state.timer);
    try {
      const queue = await api.get("/api/chat/queue");
      state.rooms = queue.results || [];
      state.available = true;
    } catch (err) {
      state.rooms = [];
      state.available = err.status !== 404;
    }
    render();
    state.timer = setTimeout(refresh, QUEUE_POLL_MS);
  }

  function render() {
    const list = $("[data-queue-list]");
    const shown = state.rooms.filter(inTeamQueues);
    const why = cannotTake();
    const items = shown.map((room) => {
      const wait = waitText(room.estimated_wait_seconds);
      const mine = servesTeam(room);
      const action = mine
        ? el("button", { type: "button", class: "small", text: "Take", disabled: !!why, title: why || null, onclick: () => take(room.id) })
        : el("span", { class: "not-mine", text: `${room.team.name} team` });
      return el(
        "li",
        { class: "room-item queued", dataset: { roomId: room.id } },
        el(
          "div",
          { class: "queued-row" },
          el("span", { class: "position", text: `#${room.queue_position ?? "?"}` }),
          el("span", { class: "room-name", text: nameOf(room.customer) || "Customer" }, teamTag(room)),
          el("span", { class: "waited", text: since(room.queued_at) }),
          action,
        ),
        el("span", { class: "preview", text: room.subject || (wait ? `est. ${wait}` : "") }),
        // A waiting chat's first-response flag (issue 30), as fresh as the poll.
        ...slaFlags(room),
      );
    });
    list.replaceChildren(...items);
    $("[data-queue-count]").textContent = shown.length ? `(${shown.length})` : "";
    const empty = $("[data-queue-empty]");
    empty.textContent = state.available ? "Nobody is waiting." : "The queue is not available.";
    show(empty, !items.length);
    hint.textContent = why;
    show(hint, !!why && shown.some(servesTeam));
  }

  async function take(roomId) {
    banner("");
    try {
      const answer = await api.post("/api/chat/assign-agent", { room_id: roomId, agent_id: user.id });
      const room = answer && answer.room ? answer.room : answer;
      if (room && room.id) onTaken(room);
    } catch (err) {
      // A chat that is no longer waiting answers 404 (not visible to this agent) or 409.
      const gone = err.code === "not_found" || err.code === "conflict";
      const why = gone ? "it is no longer waiting (another agent took it, or it was closed)." : errorText(err);
      banner(`Could not take the chat: ${why}`, "error");
    }
    refresh();
  }

  return { refresh, render };
}
