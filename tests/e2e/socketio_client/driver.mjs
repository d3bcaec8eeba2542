// One npm socket.io-client socket, driven by tests/e2e/sioclient.py: commands arrive on
// stdin and everything the client library reports goes to stdout, one JSON object a
// line. The library does the whole protocol (Engine.IO handshake, pings, acks,
// reconnection); this file only relays.
//
//   {"op": "open", "url", "cookie", "origin", "options"}   io(url, options)
//   {"op": "emit", "event", "args", "ack"}    socket.emit(event, ...args[, callback])
//   {"op": "emit_with_ack", "event", "args", "ack"}    socket.timeout(5000).emitWithAck(...)
//   {"op": "drop"}        the connection breaks (engine closed): the client reconnects
//   {"op": "disconnect"}  socket.disconnect()
//
// Reports: {"type": "connect"}, {"type": "event", "event", "args"},
// {"type": "ack", "ack", "args"} (the callback's arguments), {"type": "ping"}, {"type": "disconnect",
// "reason", "code", "close_reason"} (code: the WebSocket close code, from
// details.context), {"type": "connect_error", "message", "data", "description",
// "body", "active"}. In args, {"$bytes": "text"} becomes a Buffer (a binary event).

import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const report = (msg) => process.stdout.write(JSON.stringify(msg) + "\n");
let socket = null;

const withBytes = (value) => {
  if (Array.isArray(value)) return value.map(withBytes);
  if (value && typeof value === "object") {
    if (typeof value.$bytes === "string") return Buffer.from(value.$bytes);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withBytes(v)]));
  }
  return value;
};

const commands = {
  open({ url, cookie, origin, options }) {
    const extraHeaders = {};
    if (cookie) extraHeaders.Cookie = cookie;
    if (origin) extraHeaders.Origin = origin;
    socket = io(url, {
      transports: ["websocket"],
      extraHeaders,
      reconnectionDelay: 200,
      reconnectionDelayMax: 1000,
      ...options,
    });
    socket.on("connect", () => report({ type: "connect" }));
    socket.on("disconnect", (reason, details) =>
      report({
        type: "disconnect",
        reason,
        code: details?.context?.code ?? null,
        close_reason: details?.context?.reason ?? null,
      }),
    );
    socket.on("connect_error", (err) =>
      report({
        type: "connect_error",
        message: err.message,
        data: err.data ?? null,
        description: typeof err.description === "number" ? err.description : null,
        body: err.context?.responseText ?? null,
        active: socket.active,
      }),
    );
    socket.onAny((event, ...args) => report({ type: "event", event, args }));
    socket.io.on("ping", () => report({ type: "ping" })); // Engine.IO's heartbeat
  },
  emit({ event, args, ack }) {
    const values = withBytes(args ?? []);
    if (ack == null) socket.emit(event, ...values);
    else socket.emit(event, ...values, (...reply) => report({ type: "ack", ack, args: reply }));
  },
  async emit_with_ack({ event, args, ack }) {
    // socket.timeout(ms).emitWithAck(...): the promise form of a callback
    const result = await socket.timeout(5000).emitWithAck(event, ...withBytes(args ?? []));
    report({ type: "ack", ack, args: [result] });
  },
  drop() {
    socket.io.engine.close();
  },
  disconnect() {
    socket.disconnect();
  },
};

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const command = JSON.parse(line);
  commands[command.op](command);
});
lines.on("close", () => {
  if (socket) socket.disconnect();
  process.exit(0);
});
