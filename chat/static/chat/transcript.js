// The customer page offers the transcript of a closed chat by e-mail (issue 30):
// `POST /api/chat/rooms/{id}/transcript` sends it to the account's address. Loaded by
// customer.js: `transcript(client, view)`; the button lives in the pane's "This chat is
// closed" area, next to the rating.

import { api } from "./client.js";
import { $, el, errorText, show } from "./ui.js";

export function transcript(client, view) {
  const button = el("button", { type: "button", dataset: { transcript: "" }, text: "E-mail me the transcript" });
  const out = el("p", { class: "transcript-result", dataset: { transcriptResult: "" }, hidden: true });
  const box = el("div", { class: "transcript", hidden: true }, button, out);
  $("[data-closed-note]", view.root).prepend(box);
  const sent = new Set(); // rooms whose transcript went in this page

  function render() {
    const r = view.roomId ? client.room(view.roomId) : null;
    const closed = !!r && r.room.status === "closed";
    show(box, closed);
    button.disabled = !closed || sent.has(view.roomId);
    if (!sent.has(view.roomId)) show(out, false);
  }

  button.addEventListener("click", async () => {
    const roomId = view.roomId;
    if (!roomId) return;
    button.disabled = true;
    try {
      const answer = await api.post(`/api/chat/rooms/${encodeURIComponent(roomId)}/transcript`, {});
      sent.add(roomId);
      out.textContent = `The transcript is on its way to ${answer.email}.`;
      out.classList.remove("form-error");
    } catch (err) {
      out.textContent = errorText(err);
      out.classList.add("form-error");
      button.disabled = false;
    }
    show(out, true);
  });

  client.on("room", (roomId) => roomId === view.roomId && render());
  const renderHead = view.renderHead.bind(view);
  view.renderHead = () => {
    renderHead();
    render();
  };
  return { render };
}
