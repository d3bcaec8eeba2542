// The customer page (/chat/): sign up or in, start a chat, wait in the queue, talk.

import { attention } from "./attention.js";
import { api, ChatClient } from "./client.js";
import { rating } from "./rating.js";
import { transcript } from "./transcript.js";
import { endChatButton, pastChats } from "./customer-history.js";
import { QueueState } from "./queue-state.js";
import { $, banner, bindAuth, bindConnection, bindSignOut, errorText, nameOf, RoomView, show } from "./ui.js";
import { offlineState, roomChoice, topicPicker } from "./teams.js";

const OPEN = new Set(["queued", "active"]);

const page = {
  client: null,
  view: null,
  user: null,
  roomId: null,
  pollTimer: null,
  queue: null, // QueueState: what the line above the messages says while waiting
  past: null, // the earlier chats on the start screen (customer-history.js)
};

function describe(room) {
  if (room.status === "queued") {
    return { title: "Waiting for an agent", sub: room.subject || "" };
  }
  if (room.status === "closed") {
    return { title: "Chat closed", sub: room.agent ? `with ${nameOf(room.agent)}` : room.subject || "" };
  }
  return { title: room.agent ? `Chatting with ${nameOf(room.agent)}` : "Support", sub: room.subject || "" };
}

function showStart() {
  page.roomId = null;
  page.view.close();
  show($("[data-start]"), true);
  page.past.refresh();
  topicPicker($("[data-start-form]"));
  $("[data-start-form] [name=message]").focus();
}

function openRoom(room) {
  show($("[data-start]"), false);
  page.past.hide();
  page.roomId = room.id;
  page.client.track(room);
  page.view.open(room.id);
  offlineState(room);
  if (room.status === "queued") page.queue.refresh();
  schedulePoll();
}

// While queued, the room is also re-read over REST now and then (queue-updated is best
// effort; REST has the position too).
function schedulePoll() {
  clearTimeout(page.pollTimer);
  page.pollTimer = setTimeout(async () => {
    const r = page.roomId && page.client.room(page.roomId);
    if (r && r.room.status === "queued") {
      try {
        const room = await api.get(`/api/chat/rooms/${r.id}`);
        page.client.track(room);
        page.queue.refresh();
      } catch (err) {
        /* next time */
      }
    }
    if (r && r.room.status !== "closed") schedulePoll();
  }, 10000);
}

async function onSignedIn(user) {
  page.user = user;
  auth.show(false);
  bindSignOut(user);
  if (user.role !== "user") {
    show($("[data-wrong-role]"), true);
    return;
  }
  const client = new ChatClient(user);
  page.client = client;
  window.supportChat = client; // for the browser tests and the curious
  bindConnection(client);
  page.queue = new QueueState(client, () => page.view.renderHead());
  page.view = new RoomView($("[data-room-pane]"), client, { describe, queueLine: (r) => page.queue.line(r) });
  rating(client, page.view); // asks for a rating once the chat is closed
  transcript(client, page.view); // and offers its transcript by e-mail (issue 30)
  endChatButton(page.view, client, () => page.roomId);
  page.past = pastChats(openRoom);
  attention(client, { openRoomId: () => page.roomId, mount: $(".room-head"), title: document.title });
  client.on("unauthenticated", () => location.reload());
  client.on("lost", (roomId) => {
    if (roomId === page.roomId) showStart();
  });
  client.on("room", (roomId) => {
    if (roomId !== page.roomId) return;
    const room = client.room(roomId)?.room;
    offlineState(room);
    // Back in a queue (a requeue, a transfer to a team): who is there may have changed.
    if (room?.status === "queued" && page.shownStatus !== "queued") page.queue.refresh();
    page.shownStatus = room?.status;
  });
  client.start();
  try {
    const rooms = await api.get("/api/chat/rooms?limit=20");
    const open = rooms.results.find((room) => OPEN.has(room.status));
    if (open) openRoom(await api.get(`/api/chat/rooms/${open.id}`));
    else showStart();
  } catch (err) {
    banner(`Could not load your chats: ${errorText(err)}`, "error");
  }
}

const auth = bindAuth(onSignedIn);

$("[data-start-form]").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const data = new FormData(form);
  const message = data.get("message").trim();
  const out = $("[data-error]", form);
  if (!message) {
    out.textContent = "Tell us what you need.";
    show(out, true);
    return;
  }
  try {
    const room = await api.post("/api/chat/rooms", { subject: data.get("subject").trim(), message, ...roomChoice(form) });
    show(out, false);
    form.reset();
    openRoom(room);
  } catch (err) {
    out.textContent = errorText(err);
    show(out, true);
  }
});

$("[data-new-chat]").addEventListener("click", () => {
  if (page.roomId) page.client.untrack(page.roomId);
  banner("");
  showStart();
});

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
