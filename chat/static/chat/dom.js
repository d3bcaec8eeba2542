// DOM helpers shared by the pages: the page's config, element building, text for names,
// times, sizes, waits and errors, and the banner. User data goes in as text, never HTML.

import { ApiError } from "./rest.js";

export const config = JSON.parse(document.getElementById("chat-config")?.textContent || "{}");

export function $(selector, root = document) {
  return root.querySelector(selector);
}

// el("li", {class: "x", dataset: {id}}, child, "text") -> element; strings become text nodes.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

// A destructive button asks once more: the first click turns its text into `prompt`
// for four seconds; true only for a click while it asks. `key` names what it would
// destroy: a line redrawn meanwhile (its ticks moved on) draws its button with
// `keepAsking`, and the next click still confirms.
const asking = new Map(); // key -> {button, prompt, timer}

export function confirmed(button, prompt, label, key = null) {
  const entry = key ? asking.get(key) : null;
  if (button.dataset.confirm === "1" || entry) {
    if (entry) {
      clearTimeout(entry.timer);
      asking.delete(key);
    }
    return true;
  }
  button.dataset.confirm = "1";
  button.textContent = prompt;
  const timer = setTimeout(() => {
    const current = (key && asking.get(key)?.button) || button;
    current.dataset.confirm = "";
    current.textContent = label;
    if (key) asking.delete(key);
  }, 4000);
  if (key) asking.set(key, { button, prompt, timer });
  return false;
}

export function keepAsking(button, key) {
  const entry = asking.get(key);
  if (!entry) return;
  entry.button = button;
  button.dataset.confirm = "1";
  button.textContent = entry.prompt;
}

export function show(node, visible) {
  if (node) node.hidden = !visible;
}

export function nameOf(person) {
  return person ? person.display_name || person.username : "";
}

export function timeOf(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function sizeOf(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function waitText(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return "less than a minute";
  const minutes = Math.round(seconds / 60);
  return minutes === 1 ? "about 1 minute" : `about ${minutes} minutes`;
}

export function errorText(err) {
  if (err instanceof ApiError) return err.text;
  return (err && err.message) || String(err);
}

// Field-level errors (issue 31, item 10): each message goes under the input it is about
// (`.field-error` after it, `aria-invalid` on it), in plain words. `messages`:
// {name: text}; `plain(name, text)` may reword a server's message. Returns the names
// placed; the first such input gets the focus.
export function showFieldErrors(form, messages, plain = (name, text) => text) {
  clearFieldErrors(form);
  const placed = [];
  for (const [name, text] of Object.entries(messages)) {
    const input = form.elements.namedItem(name);
    if (!input || !text) continue;
    input.setAttribute("aria-invalid", "true");
    const note = el("p", { class: "field-error", dataset: { fieldError: name }, text: plain(name, text) });
    input.after(note);
    placed.push(name);
  }
  if (placed.length) form.elements.namedItem(placed[0]).focus();
  return placed;
}

export function clearFieldErrors(form) {
  form.querySelectorAll(".field-error").forEach((node) => node.remove());
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

// The field messages of a validation error ({name: first message}), or {}.
export function fieldMessages(err) {
  const fields = (err && err.details && err.details.fields) || {};
  const out = {};
  for (const [name, messages] of Object.entries(fields)) {
    const first = Array.isArray(messages) ? messages[0] : messages;
    if (first) out[name] = String(first);
  }
  return out;
}

// The line under the top bar for what just happened; "" hides it. It has a button to
// dismiss it, and the pages clear an error once the person moves on (issue 31, item 6).
export function banner(text, kind = "info") {
  const node = $("[data-banner]");
  if (!node) return;
  const close = el("button", { type: "button", class: "link banner-close", "aria-label": "Dismiss", onclick: () => banner("") });
  node.replaceChildren(...(text ? [el("span", { class: "banner-text", text }), close] : []));
  node.dataset.kind = text ? kind : "";
  show(node, !!text);
}
