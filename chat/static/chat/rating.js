// The customer page asks for a rating once the chat is closed (issue 16): 1 to 5 and an
// optional comment, once, within the window the server allows (`csatWindowSeconds`
// of the page's config); `POST /api/chat/rooms/{id}/rating`. Loaded by customer.js:
// `rating(client, view)`. The form lives in the pane's "This chat is closed" area.

import { api } from "./client.js";
import { $, config, el, errorText, show } from "./ui.js";

const SCORES = [1, 2, 3, 4, 5];

export function rating(client, view) {
  let score = 0;
  const stars = SCORES.map((n) =>
    el("button", {
      type: "button",
      class: "star",
      dataset: { score: String(n) },
      "aria-label": `${n} of 5`,
      "aria-pressed": "false",
      text: "★",
      onclick: () => choose(n),
    }),
  );
  const comment = el("textarea", {
    name: "comment",
    rows: "2",
    maxlength: "1000",
    placeholder: "Anything to add? (optional)",
    "aria-label": "Comment",
  });
  const error = el("p", { class: "form-error", hidden: true });
  const submit = el("button", { type: "submit", class: "primary", text: "Send rating", disabled: true });
  const form = el(
    "form",
    { class: "rating-form", dataset: { ratingForm: "" } },
    el("p", { class: "rating-ask", text: "How was this chat?" }),
    el("div", { class: "stars", role: "group", "aria-label": "Your rating" }, ...stars),
    comment,
    submit,
    error,
  );
  const thanks = el("p", { class: "rating-done", dataset: { ratingDone: "" }, hidden: true });
  const box = el("div", { class: "rating", dataset: { rating: "" }, hidden: true }, form, thanks);
  const closedNote = $("[data-closed-note]", view.root);
  closedNote.prepend(box);

  function choose(n) {
    score = n;
    for (const star of stars) {
      const on = Number(star.dataset.score) <= n;
      star.classList.toggle("on", on);
      star.setAttribute("aria-pressed", String(Number(star.dataset.score) === n));
    }
    submit.disabled = false;
  }

  function render() {
    const r = view.roomId ? client.room(view.roomId) : null;
    const room = r && r.room;
    if (!room || room.status !== "closed") {
      show(box, false);
      return;
    }
    if (room.rating) {
      thanks.textContent = `You rated this chat ${room.rating.score} of 5. Thank you!`;
      show(form, false);
      show(thanks, true);
      show(box, true);
      return;
    }
    const closedAt = Date.parse(room.closed_at || "");
    const open = !Number.isNaN(closedAt) && Date.now() < closedAt + (config.csatWindowSeconds || 0) * 1000;
    show(form, open);
    show(thanks, false);
    show(box, open);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const roomId = view.roomId;
    if (!roomId || !score) return;
    submit.disabled = true;
    try {
      const answer = await api.post(`/api/chat/rooms/${encodeURIComponent(roomId)}/rating`, {
        score,
        comment: comment.value.trim(),
      });
      const r = client.room(roomId);
      if (r) r.room = { ...r.room, rating: answer.rating };
      show(error, false);
      render();
    } catch (err) {
      if (err.code === "already_rated") {
        const room = await api.get(`/api/chat/rooms/${encodeURIComponent(roomId)}`).catch(() => null);
        const r = client.room(roomId);
        if (room && r) r.room = { ...r.room, ...room };
        render();
        return;
      }
      error.textContent = errorText(err);
      show(error, true);
      submit.disabled = false;
    }
  });

  client.on("room", (roomId) => roomId === view.roomId && render());
  const renderHead = view.renderHead.bind(view);
  view.renderHead = () => {
    renderHead();
    render();
  };
  return { render };
}
