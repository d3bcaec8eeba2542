// The WebSocket wrapper: one socket with ack promises (`request(event, data)`) and a
// reconnect with backoff. Nothing here touches the DOM.

import { Emitter } from "./emitter.js";

export class SocketError extends Error {
  constructor(data) {
    super((data && data.message) || (data && data.code) || "error");
    this.code = (data && data.code) || "error";
    this.details = (data && data.details) || {};
  }
}

const CLOSE_NOT_AUTHENTICATED = 4401;

export function wsUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/chat/`;
}

// One socket with `request(event, data)` -> Promise of the ack's data (rejects with a
// SocketError on the contract's `error` frame, a timeout or a disconnect), and a
// reconnect with exponential backoff and jitter. 4401 (signed out) stops it.
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
    if (!this.ws) this._open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
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

  _setState(state) {
    this.state = state;
    this.emit("state", state);
  }

  _open() {
    this._setState(this.attempt ? "reconnecting" : "connecting");
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
      this._setState("open");
      this.emit("open");
    };
    ws.onmessage = (event) => {
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
      for (const [, waiter] of this.pending) {
        clearTimeout(waiter.timer);
        waiter.reject(new SocketError({ code: "disconnected", message: "Disconnected." }));
      }
      this.pending.clear();
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
    const base = Math.min(15000, 500 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    this._setState("reconnecting");
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

  request(event, data = {}) {
    if (!this.isOpen) {
      return Promise.reject(new SocketError({ code: "disconnected", message: "Not connected." }));
    }
    const ack = `a${++this.counter}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ack);
        reject(new SocketError({ code: "timeout", message: "No answer from the server." }));
        // A socket that stopped answering is probably dead: start over.
        if (this.ws) this.ws.close(4000, "ack timeout");
      }, this.ackTimeoutMs);
      this.pending.set(ack, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ event, data, ack }));
    });
  }
}
