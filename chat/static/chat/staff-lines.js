// How the console draws the staff-only lines of the timeline (agent-tools.js registers
// them in RoomView.lines): a tag change, the customer's rating, and a run of tag changes
// by one person as one line (issue 31, item 14). User values go in as text.

import { el, nameOf } from "./ui.js";

export function ratedText(data) {
  const who = nameOf(data.customer) || "The customer";
  const comment = data.rating.comment ? `: “${data.rating.comment}”` : "";
  return `${who} rated the chat ${data.rating.score}/5${comment}`;
}

export function renderEventLine(line) {
  const data = line.data;
  let text = "";
  if (line.kind === "room-tagged") text = `${nameOf(data.by) || "Someone"} tagged the chat “${data.tag}”`;
  else if (line.kind === "room-untagged") text = `${nameOf(data.by) || "Someone"} removed the tag “${data.tag}”`;
  else text = ratedText(data);
  return el("li", { class: `note staff-line ${line.kind}`, dataset: { key: `n:${line.seq}`, seq: String(line.seq) }, text });
}

const TAG_KINDS = new Set(["room-tagged", "room-untagged"]);

// The pane's items with every run of tag changes by one person merged into one
// "tag-group" item, keyed by its first line (so it is redrawn in place as it grows).
export function groupTagLines(items) {
  const out = [];
  for (const item of items) {
    if (!item.note || !TAG_KINDS.has(item.note.kind)) {
      out.push(item);
      continue;
    }
    const by = item.note.data.by ? item.note.data.by.id : null;
    const last = out.at(-1);
    if (last && last.note && last.note.kind === "tag-group" && last.note.by === by) {
      last.note.lines.push(item.note);
      continue;
    }
    const group = { kind: "tag-group", seq: item.note.seq, by, data: item.note.data, lines: [item.note] };
    out.push({ key: item.key, seq: item.seq, note: group });
  }
  return out;
}

// "Ann tagged the chat “billing”, “vip”; removed “old”; added and removed “oops”"
export function renderTagGroup(group) {
  const first = new Map();
  const last = new Map();
  for (const line of group.lines) {
    if (!first.has(line.data.tag)) first.set(line.data.tag, line.kind);
    last.set(line.data.tag, line.kind);
  }
  const quoted = (tags) => tags.map((tag) => `“${tag}”`).join(", ");
  const added = [...last].filter(([tag, kind]) => kind === "room-tagged" && first.get(tag) === "room-tagged").map(([tag]) => tag);
  const removed = [...last].filter(([tag, kind]) => kind === "room-untagged" && first.get(tag) === "room-untagged").map(([tag]) => tag);
  const both = [...last].filter(([tag, kind]) => first.get(tag) !== kind).map(([tag]) => tag);
  const parts = [];
  if (added.length) parts.push(`tagged the chat ${quoted(added)}`);
  if (removed.length) parts.push(`removed ${removed.length > 1 ? "the tags" : "the tag"} ${quoted(removed)}`);
  if (both.length) parts.push(`added and removed ${quoted(both)}`);
  const text = `${nameOf(group.data.by) || "Someone"} ${parts.join("; ")}`;
  return el("li", { class: "note staff-line tag-group", dataset: { key: `n:${group.seq}`, seq: String(group.seq) }, text });
}
