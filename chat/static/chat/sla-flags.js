// SLA flags and ring-no-answer notices in the agent console (issue 30). A room's `sla`
// ({first_response, resolution}: null, "nearing" or "breached") comes with the room
// from REST and moves live with each `room-sla` event (staff only); the list and the
// pane's head show it as a flag: amber nearing, red breached, always with words.
// `ring-missed` (to the agent who did not answer in time) is a banner; when it set them
// away, the status switch follows.

import { $, banner, el } from "./ui.js";

const TARGETS = { first_response: "first response", resolution: "resolution" };

export function slaText(target, state) {
  return `SLA ${state === "breached" ? "breached" : "nearing"}: ${TARGETS[target] || target}`;
}

export function slaFlags(room) {
  const sla = (room && room.sla) || {};
  return Object.keys(TARGETS)
    .filter((target) => sla[target])
    .map((target) =>
      el("span", {
        class: `sla-flag sla-${sla[target]}`,
        dataset: { sla: `${target}:${sla[target]}` },
        text: slaText(target, sla[target]),
      }),
    );
}

export function bindSla(client, { onStatus } = {}) {
  client.on("timeline", (roomId, name, data) => {
    if (name !== "room-sla") return;
    const r = client.room(roomId);
    if (!r) return;
    r.room = { ...r.room, sla: { ...(r.room.sla || {}), [data.target]: data.state } };
    client.emit("room", roomId);
  });
  client.socket.on("ring-missed", (data) => {
    banner(data.text, "error");
    if (data.set_away && onStatus) onStatus("away");
  });
}

export function mountHeadFlags(view, client) {
  const head = $(".room-head", view.root) || view.root;
  const box = el("div", { class: "sla-flags", dataset: { slaHead: "" } });
  head.append(box);
  const render = () => {
    const r = view.roomId ? client.room(view.roomId) : null;
    box.replaceChildren(...(r ? slaFlags(r.room) : []));
  };
  client.on("room", (roomId) => roomId === view.roomId && render());
  const renderHead = view.renderHead.bind(view);
  view.renderHead = () => {
    renderHead();
    render();
  };
}
