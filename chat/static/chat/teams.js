// Teams on the two pages (issue 15), kept out of customer.js and agent.js, which only
// call the hooks below:
//   customer page: a topic picker on the start form when topics or teams exist
//   (topicPicker, roomChoice); the team's offline state and a form to leave an e-mail
//   address and a message while the room waits for the opening (offlineState);
//   agent console: the team of each waiting room, a filter by team (bindTeamQueues,
//   teamTag), whether the agent serves it (servesTeam), teams as transfer targets
//   (teamOptions, transferBody).
// Only the public REST contract: GET /api/chat/topics, /api/chat/teams,
// POST /api/chat/rooms/{id}/offline-message, POST /api/chat/transfer with to_team_id.

import { api } from "./client.js";
import { $, el, errorText, show } from "./ui.js";

// The pages' stylesheet is style.css; these rules are this file's own (same origin: the CSP).
const sheet = el("link", { rel: "stylesheet", href: new URL("teams.css", import.meta.url).href });
document.head.append(sheet);

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return sameDay ? `today at ${time}` : `${date.toLocaleDateString([], { weekday: "long", day: "numeric", month: "short" })} at ${time}`;
}

// --- customer page: the topic picker -----------------------------------------------------

let choices = null; // [{name: "topic"|"team_id", value, label}] once loaded

async function loadChoices() {
  const topics = await api.get("/api/chat/topics");
  if (topics.results.length) {
    return topics.results.map((t) => ({
      name: "topic",
      value: t.key,
      label: t.team && !t.team.open ? `${t.label} (closed now)` : t.label,
    }));
  }
  const teams = await api.get("/api/chat/teams");
  return teams.results.map((t) => ({
    name: "team_id",
    value: t.id,
    label: t.open ? t.name : `${t.name} (closed now)`,
  }));
}

// Called when the start form shows: adds "What is it about?" when there is a choice.
export async function topicPicker(form) {
  try {
    choices = await loadChoices();
  } catch (err) {
    choices = []; // the general queue: the form works as before
  }
  let label = $("[data-topic]", form);
  if (!choices.length) {
    if (label) label.remove();
    return;
  }
  const select = el(
    "select",
    { name: "choice", "data-topic-select": true },
    el("option", { value: "", text: "Anything else" }),
    ...choices.map((c, i) => el("option", { value: String(i), text: c.label })),
  );
  const fresh = el("label", { "data-topic": true }, "What is it about? ", select);
  if (label) label.replaceWith(fresh);
  else form.prepend(fresh);
}

// The create body's extra field: {topic} or {team_id}, or nothing (the general queue).
export function roomChoice(form) {
  const select = $("[data-topic-select]", form);
  const picked = select && select.value !== "" && choices ? choices[Number(select.value)] : null;
  return picked ? { [picked.name]: picked.value } : {};
}

// --- customer page: closed now -----------------------------------------------------------

let offlineRoom = null;

function offlineCard(pane) {
  let card = $("[data-offline]", pane);
  if (card) return card;
  const form = el(
    "form",
    { class: "offline-form", "data-offline-form": true, novalidate: true },
    el("label", {}, "Your e-mail ", el("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    el("label", {}, "Message ", el("textarea", { name: "message", rows: "3", required: true })),
    el("p", { class: "form-error", "data-error": true, hidden: true }),
    el("button", { type: "submit", class: "primary", text: "Leave a message" }),
  );
  card = el(
    "div",
    { class: "offline-card", "data-offline": true, hidden: true },
    el("strong", { "data-offline-title": true }),
    el("p", { "data-offline-text": true }),
    el("p", { class: "offline-left", "data-offline-left": true, hidden: true }),
    form,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const out = $("[data-error]", form);
    try {
      await api.post(`/api/chat/rooms/${encodeURIComponent(offlineRoom)}/offline-message`, {
        email: String(data.get("email")).trim(),
        message: String(data.get("message")),
      });
      show(form, false);
      const left = $("[data-offline-left]", card);
      left.textContent = "Thank you: we will answer by e-mail or here when we open.";
      show(left, true);
    } catch (err) {
      out.textContent = errorText(err);
      show(out, true);
    }
  });
  const anchor = $("[data-queue-info]", pane);
  anchor.after(card);
  return card;
}

// Called with the room whenever the customer's room is shown or changes: while it waits
// for a closed team, the team's message, its next opening and the form.
export function offlineState(room, pane = $("[data-room-pane]")) {
  const card = offlineCard(pane);
  const offline = !!(room && room.status === "queued" && room.offline);
  if (offline && offlineRoom !== room.id) {
    offlineRoom = room.id;
    show($("[data-offline-form]", card), true);
    show($("[data-offline-left]", card), false);
  }
  if (offline) {
    const team = room.team ? room.team.name : "Our team";
    $("[data-offline-title]", card).textContent = `${team} is closed right now`;
    const opens = room.next_open_at ? ` We open ${when(room.next_open_at)}.` : "";
    $("[data-offline-text]", card).textContent = `${room.offline_message || ""}${opens}`.trim();
  }
  show(card, offline);
}

// --- agent console: team queues ----------------------------------------------------------

const queueView = { filter: "", teams: [], mine: new Set(), onChange: null };

// Adds the filter above the queue list (when teams exist) and loads the teams.
export async function bindTeamQueues(user, onChange) {
  queueView.onChange = onChange;
  try {
    const teams = await api.get("/api/chat/teams");
    queueView.teams = teams.results;
  } catch (err) {
    queueView.teams = [];
  }
  queueView.mine = new Set(queueView.teams.filter((t) => (t.members || []).some((m) => m.id === user.id)).map((t) => t.id));
  if (!queueView.teams.length) return;
  const select = el(
    "select",
    { "data-queue-team": true, "aria-label": "Queue" },
    el("option", { value: "", text: "All queues" }),
    queueView.mine.size ? el("option", { value: "mine", text: "My teams" }) : null,
    el("option", { value: "general", text: "General" }),
    ...queueView.teams.map((t) => el("option", { value: t.id, text: t.open ? t.name : `${t.name} (closed)` })),
  );
  select.addEventListener("change", () => {
    queueView.filter = select.value;
    if (queueView.onChange) queueView.onChange();
  });
  $("[data-queue-list]").before(el("label", { class: "queue-filter" }, select));
}

// Whether a waiting room is in the queues the filter shows.
export function inTeamQueues(room) {
  const team = room.team ? room.team.id : null;
  switch (queueView.filter) {
    case "":
      return true;
    case "mine":
      return team === null || queueView.mine.has(team);
    case "general":
      return team === null;
    default:
      return team === queueView.filter;
  }
}

// Whether the signed-in agent may take a waiting room: the general queue is everyone's,
// a team's queue its members' (a team no longer listed: everyone's, as on the server).
export function servesTeam(room) {
  if (!room.team) return true;
  if (!queueView.teams.some((t) => t.id === room.team.id)) return true;
  return queueView.mine.has(room.team.id);
}

export function teamTag(room) {
  if (!room.team) return null;
  return el("span", { class: "team-tag", dataset: { teamId: room.team.id }, text: room.team.name });
}

// --- agent console: transfer to a team ---------------------------------------------------

export function teamOptions() {
  if (!queueView.teams.length) return [];
  return [
    el(
      "optgroup",
      { label: "Teams (their best free agent, or the head of their queue)" },
      ...queueView.teams.map((t) => el("option", { value: `team:${t.id}`, text: t.open ? t.name : `${t.name} (closed)` })),
    ),
  ];
}

export function transferBody(roomId, target) {
  if (target.startsWith("team:")) return { room_id: roomId, to_team_id: target.slice(5) };
  return { room_id: roomId, to_agent_id: target };
}
