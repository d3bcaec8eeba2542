// Image attachments (issue 31, item 12): a thumbnail in the message that opens the
// picture at full size in a dialog (Escape, a click outside or Close closes it), with
// its download link. The pictures come from /api/chat/attachments/{id}, this origin
// (the pages' policy allows images from 'self').

import { el } from "./dom.js";

// What <img> may show: the raster types the server accepts (never SVG).
export const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

let dialog = null;

function lightbox() {
  if (dialog) return dialog;
  const image = el("img", { class: "lightbox-image", alt: "" });
  const link = el("a", { class: "lightbox-download", text: "Download" });
  const caption = el("span", { class: "lightbox-name" });
  dialog = el(
    "dialog",
    { class: "lightbox", dataset: { lightbox: "" }, "aria-label": "Picture" },
    image,
    el(
      "div",
      { class: "lightbox-bar" },
      caption,
      link,
      el("button", { type: "button", class: "link", dataset: { lightboxClose: "" }, text: "Close", onclick: () => dialog.close() }),
    ),
  );
  // A click on the backdrop (the dialog itself, outside the picture and the bar) closes.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.parts = { image, link, caption };
  document.body.append(dialog);
  return dialog;
}

export function openPicture(attachment, url) {
  const box = lightbox();
  box.parts.image.src = url;
  box.parts.image.alt = attachment.filename;
  box.parts.caption.textContent = attachment.filename;
  box.parts.link.href = url;
  box.parts.link.download = attachment.filename;
  if (!box.open) box.showModal();
}

// The thumbnail button of an image attachment.
export function thumbnail(attachment, url) {
  return el(
    "button",
    { type: "button", class: "thumb", "aria-label": `Enlarge ${attachment.filename}`, onclick: () => openPicture(attachment, url) },
    el("img", { src: url, alt: attachment.filename, loading: "lazy", decoding: "async" }),
  );
}
