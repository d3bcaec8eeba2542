// DOM helpers and the conversation pane shared by the customer page and the agent
// console. User data is only ever set with textContent or attributes, never as HTML.
// The parts: dom.js (helpers), account.js (sign-in, sign-out, connection line),
// room-view.js and message-lines.js (the pane); this module re-exports them.

export {
  $,
  banner,
  clearFieldErrors,
  config,
  confirmed,
  el,
  errorText,
  fieldMessages,
  keepAsking,
  nameOf,
  show,
  showFieldErrors,
  sizeOf,
  timeOf,
  waitText,
} from "./dom.js";
export { bindAuth, bindConnection, bindSignOut } from "./account.js";
export { RoomView } from "./room-view.js";
