// The agent console (/agent/): presence switch, assigned chats with unread counts, the
// queue, one conversation at a time, transfer and close. The socket stays open while the
// page is: routing only considers agents with a live connection.

import { agentTools } from "./agent-tools.js";
import { attention } from "./attention.js";
import { api, ChatClient } from "./client.js";
import { $, banner, bindAuth, bindConnection, bindSignOut, confirmed, el, errorText, nameOf, RoomView, show } from "./ui.js";
import { bindTeamQueues } from "./teams.js";
import { bindQueue } from "./console-queue.js";
import { customerPanel } from "./customer-panel.js";
import { bindTransfer } from "./console-transfer.js";
import { bindSla, mountHeadFlags, slaFlags } from "./sla-flags.js";

const page = {
  user: null,
  client: null,
  view: null,
  selected: null,
  unreadTimer: null,
  transfer: null, // console-transfer.js
  queue: null, // console-queue.js
};

function describe(room) {
  const status = room.status === "closed" ? " · closed" : "";
  return { title: nameOf(room.customer) || "Customer", sub: `${room.subject || "No subject"}${status}` };
}

// --- assigned rooms --------------------------------------------------------------------

function renderRooms() {
  const list = $("[data-room-list]");
  const rooms = [...page.client.rooms.values()].sort((a, b) => b.lastSeq - a.lastSeq);
  let total = 0;
  const items = rooms.map((r) => {
    const unread = page.client.unreadCount(r);
    if (r.room.status !== "closed") total += unread;
    const last = r.sorted().at(-1);
    const preview = last ? (last.deleted ? "Message deleted" : last.text || "Attachment") : r.room.subject || "";
    return el(
      "li",
      {
        class: `room-item${r.id === page.selected ? " selected" : ""}${r.room.status === "closed" ? " closed" : ""}`,
        dataset: { roomId: r.id },
      },
      el(
        "button",
        { type: "button", onclick: () => select(r.id) },
        el("span", { class: "room-name", text: nameOf(r.room.customer) || "Customer" }),
        unread ? el("span", { class: "badge", dataset: { unread: String(unread) }, text: String(unread) }) : null,
        el("span", { class: "preview", text: preview }),
        ...slaFlags(r.room),
      ),
    );
  });
  list.replaceChildren(...items);
  show($("[data-rooms-empty]"), !items.length);
  const badge = $("[data-unread-total]");
  badge.textContent = String(total);
  show(badge, total > 0);
  const open = rooms.filter((r) => r.room.status !== "closed").length;
  const max = page.user.max_chats;
  $("[data-load]").textContent = max ? `${open} of ${max} chats` : `${open} chats`;
  document.title = total ? `(${total}) Agent console` : "Agent console";
  page.queue?.render(); // a free slot, or none, changes what "Take" can do
}

function select(roomId) {
  // A closed room leaves the list once the agent moves on.
  for (const r of [...page.client.rooms.values()]) {
    if (r.room.status === "closed" && r.id !== roomId) page.client.untrack(r.id);
  }
  page.selected = roomId;
  page.transfer?.hide();
  if ($("[data-banner]").dataset.kind === "error") banner(""); // an old error is no longer news
  if (roomId) page.view.open(roomId);
  else page.view.close();
  show($("[data-pane-empty]"), !roomId);
  document.body.classList.toggle("show-pane", !!roomId);
  renderRooms();
}

function follow(room, { focus = false, handoverSeq = 0 } = {}) {
  if (!room || room.status === "closed") return;
  page.client.track(room, { handoverSeq });
  // A new chat does not take the pane from the one the agent is in: it shows up in the
  // list with its unread count.
  if (focus) select(room.id);
  renderRooms();
}

function drop(roomId, message) {
  page.client.untrack(roomId);
  if (page.selected === roomId) {
    select(null);
    if (message) banner(message);
  }
  renderRooms();
}

async function loadRooms() {
  const path = page.user.role === "agent" ? "/api/chat/rooms/agent?status=active&limit=100" : "/api/chat/rooms?status=active&limit=100";
  const rooms = await api.get(path);
  for (const room of rooms.results) page.client.track(room);
  await refreshUnread();
  renderRooms();
}

async function refreshUnread() {
  try {
    const counts = await api.get("/api/chat/unread-count");
    for (const [roomId, count] of Object.entries(counts.rooms || {})) {
      const r = page.client.room(roomId);
      if (r) r.serverUnread = count;
    }
  } catch (err) {
    /* the local counts stand */
  }
  renderRooms();
}

function refreshUnreadSoon() {
  clearTimeout(page.unreadTimer);
  page.unreadTimer = setTimeout(refreshUnread, 400);
}

// --- presence --------------------------------------------------------------------------

function bindPresence() {
  const status = $("[data-status]");
  const accepting = $("[data-accepting]");
  status.value = page.user.status || "online";
  accepting.checked = page.user.accepting_chats !== false;
  const update = async () => {
    try {
      const answer = await page.client.setAgentStatus(status.value, accepting.checked);
      page.user.status = answer.status;
      page.user.accepting_chats = answer.accepting_chats;
      banner("");
      page.queue.render(); // "Take" follows the switch
    } catch (err) {
      banner(`Could not change the status: ${errorText(err)}`, "error");
      status.value = page.user.status;
      accepting.checked = page.user.accepting_chats;
    }
  };
  status.addEventListener("change", update);
  accepting.addEventListener("change", update);
}

// --- close -----------------------------------------------------------------------------

async function closeRoom() {
  const roomId = page.selected;
  if (!roomId) return;
  const button = $("[data-close-room]");
  if (!confirmed(button, "Close chat?", "Close")) return;
  button.dataset.confirm = "";
  button.textContent = "Close";
  try {
    const room = await api.del(`/api/chat/rooms/${roomId}`);
    page.client.track(room);
    renderRooms();
  } catch (err) {
    banner(`Could not close the chat: ${errorText(err)}`, "error");
  }
}

// --- start -----------------------------------------------------------------------------

async function onSignedIn(user) {
  page.user = user;
  auth.show(false);
  bindSignOut(user);
  if (user.role !== "agent" && user.role !== "admin") {
    show($("[data-wrong-role]"), true);
    return;
  }
  const client = new ChatClient(user);
  page.client = client;
  window.supportChat = client; // for the browser tests and the curious
  bindConnection(client);
  page.view = new RoomView($("[data-room-pane]"), client, { describe });
  agentTools(client, page.view, user); // notes, canned responses, tags, ratings
  mountHeadFlags(page.view, client); // SLA flags of the open chat (issue 30)
  bindSla(client, {
    onStatus: (status) => {
      page.user.status = status;
      $("[data-status]").value = status;
    },
  });
  customerPanel(client, page.view); // the customer beside the chat
  attention(client, { openRoomId: () => page.selected, mount: $(".presence-controls") });
  show($("[data-console]"), true);
  bindPresence();
  const openChats = () => [...client.rooms.values()].filter((r) => r.room.status !== "closed").length;
  page.queue = bindQueue({ user, openChats, onTaken: (room) => follow(room, { focus: true }) });
  bindTeamQueues(user, () => page.queue.render());

  client.on("unauthenticated", () => location.reload());
  client.on("assigned", (data) => {
    if (data.agent && data.agent.id === user.id) follow(data.room);
    page.queue.refresh();
  });
  client.on("transferred", (data) => {
    if (data.to_agent && data.to_agent.id === user.id) {
      follow(data.room, { handoverSeq: data.seq });
      banner(`${nameOf(data.from_agent) || "An agent"} transferred a chat with ${nameOf(data.room?.customer)} to you.`);
    } else if (data.from_agent && data.from_agent.id === user.id) {
      drop(data.room_id, `The chat with ${nameOf(data.room?.customer)} went to ${nameOf(data.to_agent)}.`);
    }
  });
  client.on("closed", (data) => {
    if (data.room_id !== page.selected) drop(data.room_id);
    else renderRooms();
  });
  client.on("lost", (roomId, code, data) => {
    let text = "";
    if (code === "requeued") {
      text = data && data.to_team ? `The chat went to the ${data.to_team.name} queue.` : "The chat went back to the queue.";
    }
    drop(roomId, text);
  });
  for (const name of ["messages", "receipts", "room", "outbox"]) client.on(name, () => renderRooms());
  client.on("read", refreshUnreadSoon);
  client.on("resumed", () => {
    loadRooms().catch(() => {});
    page.queue.refresh();
  });

  $("[data-back]").addEventListener("click", () => select(null));
  page.transfer = bindTransfer({ user, selected: () => page.selected, onDone: (roomId) => drop(roomId) });
  $("[data-close-room]").addEventListener("click", closeRoom);

  client.start();
  try {
    await loadRooms();
  } catch (err) {
    banner(`Could not load your chats: ${errorText(err)}`, "error");
  }
  select(page.selected);
  page.queue.refresh();
}

const auth = bindAuth(onSignedIn);

(async () => {
  try {
    await api.csrf();
    const user = await api.profile();
    if (user) onSignedIn(user);
    else auth.show(true);
  } catch (err) {
    banner(`The server cannot be reached: ${errorText(err)}`, "error");
  }
})();
