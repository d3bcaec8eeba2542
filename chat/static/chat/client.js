// A small client of the support-chat contract (docs/web-pages.md): REST helpers with the
// session cookie and CSRF, a WebSocket wrapper with ack promises and reconnect, and a
// per-room store that resumes after a reconnect without losing or duplicating anything.
// Plain ES module, no build step. Nothing here touches the DOM.
// The parts: rest.js, socket.js (with emitter.js), room-store.js and room-actions.js;
// this module re-exports them so that importers need one path.

export { ApiError, api, readCookie, uuid } from "./rest.js";
export { Socket, SocketError, wsUrl } from "./socket.js";
export { ChatClient } from "./room-store.js";
