// The console's transfer form (issue 31, item 3): it offers only what can be done. Online
// agents who can take the chat now (online, accepting, a free slot) are choices; the
// others are listed greyed out with the reason; teams are always choices (their best
// free agent, or the head of their queue). With nothing to choose, the form says so and
// its button is off; a refusal of the server is shown in the form, in its own words.

import { api } from "./client.js";
import { $, banner, el, errorText, nameOf, show } from "./ui.js";
import { teamOptions, transferBody } from "./teams.js";

// Why an online agent cannot take a chat now ("" if they can).
export function unavailableBecause(agent) {
  if (agent.online === false) return "offline";
  if (agent.status && agent.status !== "online") return agent.status;
  if (agent.accepting_chats === false) return "not accepting chats";
  if (agent.max_chats && agent.active_chats >= agent.max_chats) return `full, ${agent.active_chats}/${agent.max_chats}`;
  return "";
}

function agentOption(agent) {
  const why = unavailableBecause(agent);
  const load = agent.max_chats ? ` (${agent.active_chats}/${agent.max_chats})` : "";
  return el("option", {
    value: agent.id,
    disabled: !!why,
    text: why ? `${nameOf(agent)} · ${why}` : `${nameOf(agent)}${load}`,
  });
}

export function bindTransfer({ user, selected, onDone }) {
  const form = $("[data-transfer-form]");
  const select = $("[data-transfer-agents]", form);
  const none = $("[data-transfer-none]", form);
  const submit = $("button[type=submit]", form);
  const error = $("[data-error]", form);
  const fail = (text) => {
    error.textContent = text;
    show(error, true);
  };

  async function open() {
    show(error, false);
    let agents;
    try {
      agents = (await api.get("/api/auth/agents/online")).results || [];
    } catch (err) {
      banner(`Could not list the agents: ${errorText(err)}`, "error");
      return;
    }
    const others = agents.filter((a) => a.id !== user.id);
    const free = others.filter((a) => !unavailableBecause(a));
    const teams = teamOptions();
    const agentGroup = others.length
      ? el("optgroup", { label: "Agents online" }, ...free.map(agentOption), ...others.filter((a) => unavailableBecause(a)).map(agentOption))
      : null;
    select.replaceChildren(
      el("option", { value: "", text: free.length || teams.length ? "Choose an agent or a team" : "Nobody can take it now" }),
      ...(agentGroup ? [agentGroup] : []),
      ...teams,
    );
    select.value = free.length ? free[0].id : "";
    const possible = free.length > 0 || teams.length > 0;
    let why = "";
    if (!possible) {
      why = others.length
        ? "Nobody can take this chat now: every other agent online is away, busy, full or not accepting chats."
        : "Nobody can take this chat now: no other agent is online.";
    }
    none.textContent = why;
    show(none, !!why);
    submit.disabled = !possible;
    select.disabled = !possible;
    show(form, true);
  }

  async function send(event) {
    event.preventDefault();
    const data = new FormData(form);
    const roomId = selected();
    const target = data.get("to_agent_id");
    if (!roomId) return;
    if (!target) {
      fail("Choose an agent or a team to transfer the chat to.");
      return;
    }
    const body = transferBody(roomId, target);
    const note = data.get("note").trim();
    if (note) body.note = note;
    submit.disabled = true;
    try {
      await api.post("/api/chat/transfer", body);
      form.reset();
      hide();
      onDone(roomId);
      banner("Chat transferred.");
    } catch (err) {
      fail(`Not transferred: ${errorText(err)}`);
    } finally {
      submit.disabled = false;
    }
  }

  function hide() {
    show(form, false);
  }

  $("[data-transfer-open]").addEventListener("click", () => (form.hidden ? open() : hide()));
  $("[data-transfer-cancel]").addEventListener("click", hide);
  form.addEventListener("submit", send);
  return { hide };
}
