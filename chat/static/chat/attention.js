// Telling someone who is looking elsewhere (issue 16): while the tab is hidden, or
// another chat is open, a new message from the other side (and, for agents, a new chat)
// counts in the page title, shows a browser notification once the person allowed them,
// and plays a short tone if they switched the sound on. Loaded by agent.js and
// customer.js: `attention(client, {openRoomId, mount, title})`.
//
// - `openRoomId()`: the chat on screen (null: none);
// - `mount`: where the two controls go ("Notify me", "Sound");
// - `title`: the page's own title, to prefix with the count of what arrived unseen;
//   null leaves the title to the page (the agent console counts its unread chats there).
//
// Notifications and sound are only ever started from the person's own click (the
// browser's rules for permission prompts and audio).

import { el, nameOf, show } from "./ui.js";

const SOUND_KEY = "support-chat.sound";

export function attention(client, { openRoomId, mount, title = null }) {
  const state = { unseen: 0, seen: new Set(), audio: null };
  const sound = el("input", { type: "checkbox", dataset: { sound: "" } });
  sound.checked = localStorage.getItem(SOUND_KEY) === "1";
  const ask = el("button", { type: "button", class: "link small", dataset: { notifyAsk: "" }, text: "Notify me" });
  const controls = el(
    "div",
    { class: "attention", dataset: { attention: "" } },
    ask,
    el("label", { class: "sound" }, sound, " Sound"),
  );
  mount?.append(controls);

  const supported = () => typeof window.Notification === "function";
  const renderAsk = () => show(ask, supported() && Notification.permission === "default");
  renderAsk();
  ask.addEventListener("click", async () => {
    try {
      await Notification.requestPermission();
    } catch (err) {
      /* an old browser's callback form: nothing to do */
    }
    renderAsk();
  });
  sound.addEventListener("change", () => {
    localStorage.setItem(SOUND_KEY, sound.checked ? "1" : "0");
    if (sound.checked) tone(state, 0.04); // a click: the browser lets audio start now
  });

  const away = (roomId) => document.hidden || (openRoomId() || null) !== roomId;

  const alert = (key, heading, body, roomId) => {
    if (state.seen.has(key)) return;
    state.seen.add(key);
    if (title !== null) {
      state.unseen += 1;
      document.title = `(${state.unseen}) ${title}`;
    }
    if (supported() && Notification.permission === "granted") {
      try {
        const note = new Notification(heading, { body, tag: roomId });
        note.onclick = () => window.focus();
      } catch (err) {
        /* notifications may still be refused by the platform */
      }
    }
    if (sound.checked) tone(state, 0.15);
  };

  client.socket.on("new-message", (data) => {
    const message = data.message || {};
    if (!message.sender || message.sender.id === client.me || !away(data.room_id)) return;
    const text = message.deleted ? "" : message.text || "Attachment";
    alert(`m:${message.id}`, `New message from ${nameOf(message.sender)}`, text, data.room_id);
  });
  if (client.user.role !== "user") {
    for (const name of ["room-assigned", "room-transferred"]) {
      client.socket.on(name, (data) => {
        const agent = name === "room-assigned" ? data.agent : data.to_agent;
        if (!agent || agent.id !== client.me || !away(data.room_id)) return;
        const customer = nameOf(data.room && data.room.customer) || "a customer";
        alert(`r:${data.room_id}:${data.seq}`, "New chat", `A chat with ${customer} is yours.`, data.room_id);
      });
    }
  }
  document.addEventListener("visibilitychange", () => {
    if (document.hidden || title === null) return;
    state.unseen = 0;
    document.title = title;
  });
  return { controls };
}

// A short sine tone through WebAudio (no file to load: the page's policy allows none).
function tone(state, seconds) {
  try {
    state.audio = state.audio || new AudioContext();
    const ctx = state.audio;
    if (ctx.state === "suspended") ctx.resume();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + seconds);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + seconds);
  } catch (err) {
    /* no audio here: the title and the notification still tell */
  }
}
