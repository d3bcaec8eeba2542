// What the customer page says while the chat waits (issue 31, item 5): one honest line
// for each state, never "all our agents are busy" when nobody is there.
//   the team is closed       -> their place in line for the opening (the card below the
//                               line, teams.js, says when that is: no estimate here)
//   no agent online          -> nobody is online now; answered as soon as one comes in
//   agents online, none free  -> away or not accepting: nobody is available right now
//   agents available but full -> all busy, with the place and the estimated wait
// Who is online comes from GET /api/auth/agents/online (customers may read it), read
// again when an agent's presence changes (user-status-changed) and with the page's poll.

import { api } from "./client.js";
import { waitText } from "./ui.js";

const AGENTS_DEBOUNCE_MS = 300;

export class QueueState {
  constructor(client, onChange) {
    this.client = client;
    this.onChange = onChange;
    this.agents = null; // null: not known yet
    this.timer = null;
    client.on("presence", (data) => {
      if (data.role === "agent" || data.role === undefined) this.refreshSoon();
    });
  }

  refreshSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), AGENTS_DEBOUNCE_MS);
  }

  async refresh() {
    try {
      const answer = await api.get("/api/auth/agents/online");
      this.agents = answer.results || [];
    } catch (err) {
      this.agents = null; // say less rather than something wrong
    }
    this.onChange();
  }

  // "none", "unavailable", "busy", or null when not known.
  get staffing() {
    if (this.agents === null) return null;
    const online = this.agents.filter((a) => a.online !== false);
    if (!online.length) return "none";
    const available = online.filter((a) => a.status === "online" && a.accepting_chats !== false);
    return available.length ? "busy" : "unavailable";
  }

  line(r) {
    const info = r.queue || {};
    const position = info.position ?? r.room.queue_position;
    const place = position ? `You are number ${position} in the queue` : "You are in the queue";
    const write = "You can already write your messages.";
    if (r.room.offline) {
      return `${position ? `You are number ${position} in line` : "You are in line"} for when we open. ${write}`;
    }
    const staffing = this.staffing;
    if (staffing === "none") {
      return `No agent is online right now. ${place}: an agent will answer as soon as one comes in. ${write}`;
    }
    if (staffing === "unavailable") {
      return `No agent is available right now. ${place}: an agent will answer as soon as one is free. ${write}`;
    }
    const wait = info.estimated_wait_seconds !== undefined ? info.estimated_wait_seconds : r.room.estimated_wait_seconds;
    const estimate = waitText(wait);
    const busy = staffing === "busy" ? "All our agents are busy. " : "";
    return `${busy}${place}${estimate ? ` · estimated wait ${estimate}` : ""}. ${write}`;
  }
}
