// The WebSocket wrapper: one socket with ack promises (`request(event, data)`), a
// reconnect with backoff, and the connection's honest state (issue 31): the browser's
// offline event drops the socket at once, and a socket silent for too long is probed
// and dropped when the probe goes unanswered. Nothing here touches the DOM.

import { Emitter } from "./emitter.js";

export class SocketError extends Error {
  constructor(data) {
    super((data && data.message) || (data && data.code) || "error");
    this.code = (data && data.code) || "error";
    this.details = (data && data.details) || {};
  }
}

const CLOSE_NOT_AUTHENTICATED = 4401;
// A socket that received nothing for HEARTBEAT_IDLE_MS is asked for the cheapest answer
// the contract has (an empty `sync`); no answer within HEARTBEAT_DEADLINE_MS and it is
// taken for dead. A cut network often keeps a WebSocket "open" for minutes otherwise.
const HEARTBEAT_IDLE_MS = 20000;
const HEARTBEAT_DEADLINE_MS = 5000;
const HEARTBEAT_CHECK_MS = 1000;

export function wsUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/chat/`;
}

// One socket with `request(event, data)` -> Promise of the ack's data (rejects with a
// SocketError on the contract's `error` frame, a timeout or a disconnect), and a
// reconnect with exponential backoff and jitter. 4401 (signed out) stops it.
// `state`: connecting, open, reconnecting, offline (the browser says so: no attempt
// until it is back), signed-out, idle (stopped).
export class Socket extends Emitter {
  constructor(url, { ackTimeoutMs = 15000 } = {}) {
    super();
    this.url = url;
    this.ackTimeoutMs = ackTimeoutMs;
    this.ws = null;
    this.pending = new Map();
    this.counter = 0;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.state = "idle";
    this.lastFrameAt = 0;
    this.probing = false;
    this.heartbeatIdleMs = HEARTBEAT_IDLE_MS;
    this.heartbeatDeadlineMs = HEARTBEAT_DEADLINE_MS;
    this.heartbeat = null;
    window.addEventListener("offline", () => this._wentOffline());
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    });
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  start() {
    this.stopped = false;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => this._probe(), HEARTBEAT_CHECK_MS);
    if (!this.ws) this._open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    if (this.ws) this.ws.close(1000);
  }

  // Close now and reconnect after the usual backoff (tests use it to simulate a drop).
  drop() {
    if (this.ws) this.ws.close(4000, "client drop");
  }

  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    this._open();
  }

  // The browser lost its network: frames no longer pass, though the WebSocket may stay
  // "open" for a long time. Give it up now, so that the page says so and sends wait.
  _wentOffline() {
    if (this.stopped) return;
    if (this.ws) this._abandon(this.ws, "offline");
    else this._scheduleReconnect();
  }

  // Probe a socket that has been silent for a while (see HEARTBEAT_IDLE_MS).
  async _probe() {
    if (!this.isOpen || this.probing || Date.now() - this.lastFrameAt < this.heartbeatIdleMs) return;
    const ws = this.ws;
    this.probing = true;
    try {
      await this.request("sync", { rooms: {} }, { timeoutMs: this.heartbeatDeadlineMs });
    } catch (err) {
      if (err.code === "timeout" && this.ws === ws) this._abandon(ws, "no answer");
    } finally {
      this.probing = false;
    }
  }

  // Forget a socket at once (its late events are ignored), fail what waits on it, and
  // reconnect; the close handshake goes on in the background.
  _abandon(ws, reason) {
    if (this.ws !== ws) return;
    this.ws = null;
    this._failPending();
    this.emit("close", 4000);
    try {
      ws.close(4000, reason);
    } catch (err) {
      /* already closing */
    }
    if (!this.stopped) this._scheduleReconnect();
  }

  _failPending() {
    for (const [, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(new SocketError({ code: "disconnected", message: "Disconnected." }));
    }
    this.pending.clear();
  }

  _setState(state) {
    this.state = state;
    this.emit("state", state);
  }

  _open() {
    this._setState(navigator.onLine === false ? "offline" : this.attempt ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.lastFrameAt = Date.now();
      this._setState("open");
      this.emit("open");
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return; // an abandoned socket's late frames
      this.lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (frame && typeof frame.event === "string") this._frame(frame);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this._failPending();
      this.emit("close", event.code);
      if (event.code === CLOSE_NOT_AUTHENTICATED) {
        this.stopped = true;
        this._setState("signed-out");
        this.emit("unauthenticated");
        return;
      }
      if (this.stopped) {
        this._setState("idle");
        return;
      }
      this._scheduleReconnect();
    };
  }

  _scheduleReconnect() {
    // Offline: the browser's "online" event reconnects at once; a slow retry covers a
    // browser that never sends it.
    const offline = navigator.onLine === false;
    const base = offline ? 15000 : Math.min(15000, 500 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    this._setState(offline ? "offline" : "reconnecting");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.stopped && !this.ws) this._open();
    }, delay);
  }

  _frame(frame) {
    if ((frame.event === "ack" || frame.event === "error") && frame.ack) {
      const waiter = this.pending.get(frame.ack);
      if (!waiter) return;
      this.pending.delete(frame.ack);
      clearTimeout(waiter.timer);
      if (frame.event === "ack") waiter.resolve(frame.data || {});
      else waiter.reject(new SocketError(frame.data));
      return;
    }
    this.emit(frame.event, frame.data || {}, frame);
    this.emit("*", frame);
  }

  request(event, data = {}, { timeoutMs = this.ackTimeoutMs } = {}) {
    if (!this.isOpen) {
      return Promise.reject(new SocketError({ code: "disconnected", message: "Not connected." }));
    }
    const ack = `a${++this.counter}`;
    const ws = this.ws;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ack);
        reject(new SocketError({ code: "timeout", message: "No answer from the server." }));
        // A socket that stopped answering is probably dead: start over.
        this._abandon(ws, "ack timeout");
      }, timeoutMs);
      this.pending.set(ack, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ event, data, ack }));
    });
  }
}
