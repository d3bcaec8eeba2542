// Load generator for the support-chat benchmarks (driven by bench/run.py).
//
//   node bench/loadgen.mjs CONFIG.json
//
// One Node process, the npm `ws` client (permessage-deflate offered, as browsers do),
// real session cookies. Modes (config.mode):
//   idle  connect N sockets at a fixed rate, hold, close: handshake latency, failures
//   chat  1:1 rooms, open-loop Poisson send-message at config.rate msg/s total, latency
//         measured from the SCHEDULED send time (queueing cannot hide), typing (2 per
//         message) and delivered/read receipts (2 per message) from the peer; ack and
//         fan-out latency, loss / duplicates / out-of-order keyed by
//         (sender, client_msg_id, seq), an event-loop probe (an unknown event with an
//         ack: the server answers `error` without touching a store)
//   http  GET a list of paths at a fixed concurrency: latency percentiles
//   sync  reconnect and `sync` from N events behind: time until the ack (after the replay)
// config.transport "socketio" (chat and idle modes): the same traffic through the npm
// socket.io-client at /socket.io/ (config.urls are then http://host:port): emit with a
// callback for a frame with an ack, server events as Socket.IO events (issue 14).
// config.transport "compat" (chat mode): the same traffic in the reference backend's shapes
// on the compatibility edge's Socket.IO namespace (issue 27; config.urls are then
// http://host:port/compat): signed in by `auth: {sessionId}` (the value of the session
// cookie, which is not sent), `send-message {chatRoomId, content}` with a callback,
// `typing {chatRoomId, isTyping}`, receipts by `messageId`; a delivery is keyed by its
// unique content and its seq is the one the sender's ack gives.
// Progress lines go to stdout ("MEASURE_START", "MEASURE_END", "HOLD_START", ...) so the
// runner can sample server CPU and memory at the right moments; the last line is
// "RESULT {json}". The generator reports its own CPU and marks the run client-bound
// above 80% of a core. Every loop is bounded by counts and config.deadline_s.

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (line) => process.stdout.write(line + "\n");
const hardDeadline = setTimeout(() => {
  say("RESULT " + JSON.stringify({ error: "deadline exceeded" }));
  process.exit(3);
}, (cfg.deadline_s ?? 600) * 1000);

function pct(values) {
  if (!values.length) return { n: 0, p50: null, p95: null, p99: null, max: null };
  const s = Float64Array.from(values).sort();
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const r = (x) => Math.round(x * 100) / 100;
  return { n: s.length, p50: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), max: r(s[s.length - 1]) };
}

function cpuMeter() {
  const c0 = process.cpuUsage();
  const t0 = now();
  return () => {
    const c = process.cpuUsage(c0);
    const pctCore = ((c.user + c.system) / 1000 / (now() - t0)) * 100;
    return { client_cpu_pct: Math.round(pctCore * 10) / 10, client_bound: pctCore > 80 };
  };
}

function expo(rate) {
  return (-Math.log(1 - Math.random()) / rate) * 1000; // ms
}

// Open one socket; resolves {ws, ms} or {error}.
function open(url, cookie, onFrame, timeoutMs = 15000) {
  return new Promise((resolve) => {
    const t0 = now();
    const ws = new WebSocket(url, {
      headers: cookie ? { Cookie: cookie } : {},
      origin: cfg.origin,
      perMessageDeflate: cfg.deflate ?? true,
      handshakeTimeout: timeoutMs,
    });
    let done = false;
    ws.on("open", () => {
      done = true;
      resolve({ ws, ms: now() - t0 });
    });
    ws.on("unexpected-response", (_req, res) => {
      if (!done) (done = true), resolve({ error: `http ${res.statusCode}` });
    });
    ws.on("error", (e) => {
      if (!done) (done = true), resolve({ error: e.code || e.message });
    });
    ws.on("close", (code) => {
      if (!done) (done = true), resolve({ error: `close ${code}` });
      else if (ws._onClose) ws._onClose(code);
    });
    ws.on("message", (raw) => {
      let frame;
      try {
        frame = JSON.parse(raw.toString());
      } catch {
        return;
      }
      onFrame(ws, frame);
    });
  });
}

// Open one Socket.IO socket (socket.io-client, imported only in this mode), seen by the
// chat mode as a WebSocket of the contract: `emitFrame(f)` sends a frame, and acks,
// callback errors ({error}) and events come back to onFrame as contract frames.
let sioConnect = null;
// `auth`: the namespace CONNECT's payload (the compatibility edge's {sessionId}).
async function openSio(url, cookie, onFrame, timeoutMs = 15000, auth = undefined) {
  if (!sioConnect) sioConnect = (await import("socket.io-client")).io;
  return new Promise((resolve) => {
    const t0 = now();
    const socket = sioConnect(url, {
      transports: ["websocket"],
      extraHeaders: { ...(cookie ? { Cookie: cookie } : {}), Origin: cfg.origin },
      forceNew: true,
      reconnection: false,
      timeout: timeoutMs,
      ...(auth ? { auth } : {}),
    });
    const conn = {
      readyState: 0,
      _onClose: null,
      emitFrame(f) {
        if (!f.ack) return socket.emit(f.event, f.data);
        socket.emit(f.event, f.data, (res) =>
          onFrame(conn, res && res.error ? { event: "error", ack: f.ack, data: res.error } : { event: "ack", ack: f.ack, data: res }),
        );
      },
      terminate: () => socket.disconnect(),
    };
    let done = false;
    socket.on("connect", () => {
      conn.readyState = 1;
      if (!done) (done = true), resolve({ ws: conn, ms: now() - t0 });
    });
    socket.on("connect_error", (e) => {
      // "websocket error" says little: the cause is in the transport's error event
      const cause = e.description?.message ?? e.description?.error?.code ?? "";
      if (!done) (done = true), resolve({ error: cause ? `${e.message}: ${cause}` : e.message });
    });
    socket.io.engine?.on?.("close", (reason, details) => {
      // closed before the Engine.IO open (4013 busy): the client would wait for its timeout
      const code = details?.context?.code;
      if (!done && code) (done = true), resolve({ error: `close ${code}` }), socket.disconnect();
    });
    socket.on("disconnect", (_reason, details) => {
      conn.readyState = 3;
      if (conn._onClose) conn._onClose(details?.context?.code ?? 1000);
    });
    socket.onAny((event, data) => onFrame(conn, { event, data }));
  });
}

// The compatibility edge's namespace: no cookie, the session key in the CONNECT's auth.
function sessionKeyOf(cookie) {
  const name = cfg.session_cookie ?? "sessionid";
  for (const part of (cookie || "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return "";
}
const openCompat = (url, cookie, onFrame, timeoutMs = 15000) =>
  openSio(url, null, onFrame, timeoutMs, { sessionId: sessionKeyOf(cookie) });

// ---------------------------------------------------------------------------- idle
async function idleMode() {
  const n = cfg.sockets;
  const rate = cfg.connect_rate;
  const sockets = [];
  const handshake = [];
  const failures = {};
  let closedDuringHold = 0;
  let holding = false;
  let released = false;
  const t0 = now();
  const pending = [];
  for (let i = 0; i < n; i++) {
    const at = t0 + (i * 1000) / rate;
    const wait = at - now();
    if (wait > 0) await sleep(wait);
    const url = cfg.urls[i % cfg.urls.length];
    const user = cfg.users[i % cfg.users.length];
    const opener = cfg.transport === "socketio" ? openSio : open;
    pending.push(
      opener(url, user.cookie, () => {}).then((r) => {
        if (r.error) failures[r.error] = (failures[r.error] || 0) + 1;
        else {
          handshake.push(now() - at); // from the scheduled connect time
          r.ws._onClose = (code) => {
            if (holding) closedDuringHold++;
            else if (!released) failures[`close ${code}`] = (failures[`close ${code}`] || 0) + 1; // refused after the upgrade (4013 busy, 4409, ...)
          };
          sockets.push(r.ws);
        }
      }),
    );
  }
  await Promise.all(pending);
  await sleep(200); // a close right after the open (a refusal) arrives before the hold
  const connectSeconds = (now() - t0) / 1000;
  const live = sockets.filter((ws) => ws.readyState === WebSocket.OPEN);
  holding = true;
  say("HOLD_START");
  const cpu = cpuMeter();
  await sleep(cfg.hold_s * 1000);
  const c = cpu();
  say("HOLD_END");
  holding = false;
  released = true;
  for (const ws of sockets) ws.terminate();
  return {
    mode: "idle",
    transport: cfg.transport ?? "websocket",
    sockets: n,
    connected: live.length,
    failures,
    failed: Object.values(failures).reduce((a, b) => a + b, 0),
    closed_during_hold: closedDuringHold,
    connect_seconds: Math.round(connectSeconds * 100) / 100,
    connect_rate: Math.round((live.length / connectSeconds) * 10) / 10,
    handshake_ms: pct(handshake),
    ...c,
  };
}

// ---------------------------------------------------------------------------- reconnect
// cfg.sockets authenticated sockets connect (cfg.connect_rate), then every one is dropped
// and opened again at the same moment, as clients do after a deploy or a network blip.
// A socket counts as back once the server answers a frame on it (a `bench-ping` with an
// ack: an `error` reply); one refused (4013 busy, or any failure) retries after a
// backoff with jitter, as socket.io-client does (0.5-1.5 s times 2^attempt, at most 5 s).
async function reconnectMode() {
  const n = cfg.sockets;
  const maxAttempts = cfg.max_attempts ?? 30;
  const sockets = new Array(n);
  const refusals = {};
  const handshake = [];
  const attemptsTaken = [];
  let stormStart = 0;

  const admitted = (i) =>
    new Promise((resolve) => {
      const t = now();
      let settled = false;
      const finish = (r) => {
        if (!settled) (settled = true), resolve(r);
      };
      open(cfg.urls[i % cfg.urls.length], cfg.users[i % cfg.users.length].cookie, (ws, f) => {
        if (f.ack === "hello") finish({ ws, ms: now() - t });
      }).then((r) => {
        if (r.error) return finish({ error: r.error });
        r.ws._onClose = (code) => finish({ error: `close ${code}` });
        r.ws.send(JSON.stringify({ event: "bench-ping", data: {}, ack: "hello" }));
      });
      setTimeout(() => finish({ error: "timeout" }), 20000);
    });

  const connectWithRetry = async (i) => {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const r = await admitted(i);
      if (!r.error) {
        r.ws._onClose = null;
        sockets[i] = r.ws;
        handshake.push(r.ms);
        attemptsTaken.push(attempt + 1);
        return now();
      }
      refusals[r.error] = (refusals[r.error] || 0) + 1;
      const backoff = Math.min(5000, 500 * 2 ** attempt) * (0.5 + Math.random());
      await sleep(backoff);
    }
    return null;
  };

  // 1. Everyone connects at a bounded rate (not what is measured).
  const t0 = now();
  const first = [];
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / (cfg.connect_rate ?? 100) - now();
    if (wait > 0) await sleep(wait);
    first.push(connectWithRetry(i));
  }
  await Promise.all(first);
  const connectedBefore = sockets.filter(Boolean).length;
  const setupRefusals = { ...refusals };
  for (const k of Object.keys(refusals)) delete refusals[k];
  handshake.length = 0;
  attemptsTaken.length = 0;
  await sleep((cfg.hold_s ?? 5) * 1000);

  // 2. All dropped and back at once.
  for (const ws of sockets) if (ws) ws.terminate();
  sockets.fill(undefined);
  await sleep(cfg.gap_ms ?? 500); // the server sees the closes
  say("MEASURE_START");
  const cpu = cpuMeter();
  stormStart = now();
  const backAt = await Promise.all(Array.from({ length: n }, (_, i) => connectWithRetry(i)));
  const done = backAt.filter((t) => t !== null);
  say("MEASURE_END");
  const c = cpu();
  const last = done.length ? Math.max(...done) : stormStart;
  const half = done.slice().sort((a, b) => a - b)[Math.floor(done.length / 2)] ?? stormStart;
  for (const ws of sockets) if (ws) ws.terminate();
  return {
    mode: "reconnect",
    sockets: n,
    connected_before: connectedBefore,
    setup_refusals: setupRefusals,
    back: done.length,
    failed: n - done.length,
    all_back_s: Math.round((last - stormStart) / 10) / 100,
    half_back_s: Math.round((half - stormStart) / 10) / 100,
    refusals,
    refused: Object.values(refusals).reduce((a, b) => a + b, 0),
    attempts: pct(attemptsTaken),
    handshake_ms: pct(handshake),
    ...c,
  };
}

// ---------------------------------------------------------------------------- chat
async function chatMode() {
  const users = cfg.users; // socket i belongs to users[i]
  const rooms = cfg.rooms; // {id, customer, agent}: indexes into users/sockets
  const socks = new Array(users.length);
  const lastSeq = users.map(() => new Map()); // per socket: room -> last seq seen
  const acks = new Map(); // ack id -> {scheduled, kind, resolve}
  const expected = new Map(); // client_msg_id -> {scheduled, peer, got}
  const ackLat = [];
  const fanLat = [];
  // cfg.series: [time since MEASURE_START of the scheduled send, latency] per measured
  // ack and delivery, reported per second (the stall scenario: how soon after a
  // database stall the acks are fast again).
  const ackPoints = [];
  const fanPoints = [];
  let measureFrom = Infinity;
  const probeLat = [];
  const schedLag = [];
  const errors = {};
  const c = { sent: 0, acked: 0, delivered: 0, dup: 0, out_of_order: 0, echo: 0, foreign: 0, frames_out: 0, frames_in: 0, closed: 0 };
  let measuring = false;
  let ackSeq = 0;
  // The compatibility edge (the reference's shapes): a new-message carries neither
  // client_msg_id nor seq. Deliveries are keyed by their content (unique per run), and
  // the order is checked after the drain, with the seq each sender's ack gave.
  const compat = cfg.transport === "compat";
  const byContent = new Map(); // content -> client_msg_id (compat)
  const arrivals = new Map(); // `${peer} ${room}` -> [client_msg_id] in arrival order (compat)

  const send = (i, event, data, ack) => {
    const ws = socks[i];
    if (!ws || ws.readyState !== 1) return false;
    const f = { event, data };
    if (ack) f.ack = ack;
    if (ws.emitFrame) ws.emitFrame(f);
    else ws.send(JSON.stringify(f));
    c.frames_out++;
    return true;
  };

  const onFrame = (idx) => (ws, f) => {
    c.frames_in++;
    const t = now();
    if (f.event === "ack" || (f.event === "error" && f.ack)) {
      const p = acks.get(f.ack);
      if (p) {
        acks.delete(f.ack);
        if (f.event === "error" && p.kind !== "probe") {
          const code = f.data?.code || "?";
          errors[code] = (errors[code] || 0) + 1;
        }
        if (p.kind === "send" && f.event === "ack") {
          c.acked += p.measured ? 1 : 0;
          if (p.measured) ackLat.push(t - p.scheduled);
          if (p.measured && cfg.series) ackPoints.push([p.scheduled - measureFrom, t - p.scheduled]);
          if (compat && p.cmid) {
            const e = expected.get(p.cmid);
            if (e) e.seq = f.data?.message?.seq; // the product's ack, passed through
          }
        } else if (p.kind === "probe" && p.measured) probeLat.push(t - p.sentAt);
        if (p.resolve) p.resolve(f);
      }
      return;
    }
    if (f.event === "error") {
      const code = f.data?.code || "?";
      errors[code] = (errors[code] || 0) + 1;
      return;
    }
    if (f.event !== "new-message") return;
    if (compat) return compatDelivery(idx, f.data || {});
    const d = f.data || {};
    const m = d.message || d;
    const cmid = m.client_msg_id;
    const seq = d.seq ?? m.seq;
    const room = d.room_id ?? m.room_id;
    const e = cmid && expected.get(cmid);
    if (!e) {
      c.foreign++;
      return;
    }
    if (idx === e.sender) {
      c.echo++; // the sender's own socket is in the room too
      return;
    }
    if (idx !== e.peer) {
      c.foreign++;
      return;
    }
    if (e.got) {
      c.dup++;
      return;
    }
    e.got = true;
    e.seq = seq;
    const last = lastSeq[idx].get(room) ?? 0;
    if (seq <= last) c.out_of_order++;
    else lastSeq[idx].set(room, seq);
    if (e.measured) {
      c.delivered++;
      fanLat.push(t - e.scheduled);
      if (cfg.series) fanPoints.push([e.scheduled - measureFrom, t - e.scheduled]);
    }
    if (cfg.receipts !== false) {
      send(idx, "message-delivered", { room_id: room, up_to_seq: seq });
      setTimeout(() => send(idx, "message-read", { room_id: room, up_to_seq: seq }), cfg.read_delay_ms ?? 100);
    }
  };

  // new-message {message: {_id, chatRoomId, content, senderId}, sender} (compat)
  const compatDelivery = (idx, d) => {
    const m = d.message || {};
    const cmid = byContent.get(m.content);
    const e = cmid && expected.get(cmid);
    if (!e) {
      c.foreign++;
      return;
    }
    if (idx === e.sender) {
      c.echo++;
      return;
    }
    if (idx !== e.peer) {
      c.foreign++;
      return;
    }
    if (e.got) {
      c.dup++;
      return;
    }
    e.got = true;
    const key = `${idx} ${m.chatRoomId}`;
    if (!arrivals.has(key)) arrivals.set(key, []);
    arrivals.get(key).push(cmid);
    if (e.measured) {
      c.delivered++;
      fanLat.push(now() - e.scheduled);
    }
    if (cfg.receipts !== false && m._id) {
      send(idx, "message-delivered", { messageId: m._id });
      setTimeout(() => send(idx, "message-read", { messageId: m._id }), cfg.read_delay_ms ?? 100);
    }
  };

  // Connect every socket (bounded rate), then join the rooms and wait for the acks.
  // 100/s as in the idle scenario: faster, the product refuses handshakes beyond
  // WS_MAX_PENDING_HANDSHAKES with 4013 (a real client backs off and retries).
  const t0 = now();
  const connectRate = cfg.connect_rate ?? 100;
  const conns = [];
  const connectFailures = {};
  const opener = compat ? openCompat : cfg.transport === "socketio" ? openSio : open;
  const connect = (i) =>
    opener(cfg.urls[i % cfg.urls.length], users[i].cookie, onFrame(i)).then((r) => {
      if (r.error) connectFailures[r.error] = (connectFailures[r.error] || 0) + 1;
      else {
        socks[i] = r.ws;
        r.ws._onClose = (code) => {
          c.closed++;
          r.ws._closeCode = code; // a join that finds the socket closed reports it
        };
      }
    });
  for (let i = 0; i < users.length; i++) {
    const wait = t0 + (i * 1000) / connectRate - now();
    if (wait > 0) await sleep(wait);
    conns.push(connect(i));
  }
  await Promise.all(conns);
  // A socket refused as busy (4013: too many handshakes in progress) is retried after a
  // backoff, as the product asks of its clients; the setup is not what a chat run
  // measures. Each retry is counted (busy_retries); the idle scenario retries nothing.
  let busyRetries = 0;
  for (let attempt = 1; attempt <= 5; attempt++) {
    await sleep(100);
    const refused = [];
    socks.forEach((ws, i) => ws && ws._closeCode === 4013 && refused.push(i));
    if (!refused.length) break;
    busyRetries += refused.length;
    c.closed -= refused.length;
    for (const i of refused) socks[i] = undefined;
    await sleep(250 * attempt + Math.random() * 250);
    await Promise.all(refused.map(connect));
  }
  const request = (i, event, data, timeoutMs = 20000) =>
    new Promise((resolve) => {
      const id = `j${++ackSeq}`;
      const timer = setTimeout(() => {
        acks.delete(id);
        resolve({ event: "timeout" });
      }, timeoutMs);
      acks.set(id, { kind: "join", resolve: (f) => (clearTimeout(timer), resolve(f)) });
      if (!send(i, event, data, id)) {
        clearTimeout(timer);
        acks.delete(id);
        resolve({ event: `closed:${socks[i]?._closeCode ?? "?"}` });
      }
    });
  const joinFailures = {};
  const joins = [];
  for (const r of rooms) {
    for (const i of [r.customer, r.agent]) {
      joins.push(
        // compat: the socket follows its open rooms from the CONNECT; join-room is what
        // the reference client sends when it opens a chat (answered by chat-history)
        request(i, "join-room", compat ? { chatRoomId: r.id } : { room_id: r.id }).then((f) => {
          if (f.event !== "ack") {
            const k = f.event === "error" ? f.data?.code : f.event;
            joinFailures[k] = (joinFailures[k] || 0) + 1;
          }
        }),
      );
    }
    if (joins.length >= 200) await Promise.all(joins.splice(0)); // bounded in flight
  }
  await Promise.all(joins);
  const setupSeconds = (now() - t0) / 1000;
  const setupFailed =
    Object.keys(connectFailures).length + Object.keys(joinFailures).length > 0;
  if (setupFailed && !cfg.continue_on_setup_failure) {
    for (const ws of socks) if (ws) ws.terminate();
    return { mode: "chat", setup_failed: true, connect_failures: connectFailures, join_failures: joinFailures, busy_retries: busyRetries };
  }

  // Open loop: Poisson arrivals at cfg.rate msg/s total over every room.
  const rate = cfg.rate;
  const warmupMs = (cfg.warmup_s ?? 2) * 1000;
  const durMs = cfg.duration_s * 1000;
  const start = now();
  measureFrom = start + warmupMs;
  const stopAt = measureFrom + durMs;
  let next = start + expo(rate);
  let msgN = 0;
  let cpu = null;
  let probeN = 0;
  const fire = (scheduled) => {
    const r = rooms[(Math.random() * rooms.length) | 0];
    const fromAgent = Math.random() < 0.5;
    const sender = fromAgent ? r.agent : r.customer;
    const peer = fromAgent ? r.customer : r.agent;
    const measured = scheduled >= measureFrom;
    const cmid = `b${cfg.tag}-${sender}-${++msgN}`;
    const ack = `s${msgN}`;
    schedLag.push(now() - scheduled);
    expected.set(cmid, { scheduled, sender, peer, got: false, measured });
    if (compat) {
      const text = `bench message ${msgN} from ${sender}`; // unique in the run
      byContent.set(text, cmid);
      acks.set(ack, { kind: "send", scheduled, measured, cmid });
      if (cfg.typing !== false) send(sender, "typing", { chatRoomId: r.id, isTyping: true });
      if (send(sender, "send-message", { chatRoomId: r.id, content: text }, ack)) {
        if (measured) c.sent++;
      }
      if (cfg.typing !== false) send(sender, "typing", { chatRoomId: r.id, isTyping: false });
      return;
    }
    acks.set(ack, { kind: "send", scheduled, measured });
    if (cfg.typing !== false) send(sender, "typing", { room_id: r.id, is_typing: true });
    if (send(sender, "send-message", { room_id: r.id, client_msg_id: cmid, text: `bench message ${msgN} from ${sender}` }, ack)) {
      if (measured) c.sent++;
    }
    if (cfg.typing !== false) send(sender, "typing", { room_id: r.id, is_typing: false });
  };
  await new Promise((resolve) => {
    const tick = () => {
      const t = now();
      if (!measuring && t >= measureFrom) {
        measuring = true;
        cpu = cpuMeter();
        say("MEASURE_START");
      }
      while (next <= t && next < stopAt) {
        fire(next);
        next += expo(rate);
      }
      if (next >= stopAt) return resolve();
      setTimeout(tick, Math.max(0, next - now()));
    };
    tick();
    const probe = setInterval(() => {
      if (now() >= stopAt) return clearInterval(probe);
      const id = `p${++probeN}`;
      acks.set(id, { kind: "probe", sentAt: now(), measured: now() >= measureFrom });
      send(cfg.probe ?? 0, "bench-ping", {}, id);
    }, cfg.probe_interval_ms ?? 100);
  });
  const cpuResult = cpu ? cpu() : cpuMeter()();
  say("MEASURE_END");
  // Drain: wait (bounded) for outstanding acks and deliveries.
  const drainUntil = now() + (cfg.drain_s ?? 5) * 1000;
  const outstanding = () => {
    let n = 0;
    for (const e of expected.values()) if (e.measured && !e.got) n++;
    for (const p of acks.values()) if (p.kind === "send" && p.measured) n++;
    return n;
  };
  while (now() < drainUntil && outstanding() > 0) await sleep(50);
  let lost = 0;
  let unacked = 0;
  for (const e of expected.values()) if (e.measured && !e.got) lost++;
  for (const p of acks.values()) if (p.kind === "send" && p.measured) unacked++;
  if (compat) {
    // per peer and room, in arrival order: a seq at or below the last one is out of order
    for (const list of arrivals.values()) {
      let last = 0;
      for (const cmid of list) {
        const seq = expected.get(cmid)?.seq;
        if (typeof seq !== "number") continue; // unacked: counted there
        if (seq <= last) c.out_of_order++;
        else last = seq;
      }
    }
  }
  for (const ws of socks) if (ws) ws.terminate();
  const secs = durMs / 1000;
  return {
    mode: "chat",
    transport: cfg.transport ?? "websocket",
    rooms: rooms.length,
    sockets: users.length,
    offered_rate: rate,
    duration_s: secs,
    setup_seconds: Math.round(setupSeconds * 10) / 10,
    busy_retries: busyRetries,
    connect_failures: connectFailures,
    join_failures: joinFailures,
    sent: c.sent,
    acked: c.acked,
    achieved_rate: Math.round((c.acked / secs) * 10) / 10,
    delivered: c.delivered,
    lost,
    unacked,
    duplicated: c.dup,
    out_of_order: c.out_of_order,
    echo_to_sender: c.echo,
    sockets_closed: c.closed,
    errors,
    frames_out_per_s: Math.round(c.frames_out / ((now() - start) / 1000)),
    frames_in_per_s: Math.round(c.frames_in / ((now() - start) / 1000)),
    ack_ms: pct(ackLat),
    fanout_ms: pct(fanLat),
    probe_ms: pct(probeLat),
    client_sched_lag_ms: pct(schedLag),
    ...(cfg.series ? { series: perSecond(ackPoints, fanPoints, secs) } : {}),
    ...cpuResult,
  };
}

// Per second of the measured window (by scheduled send time): acks and their p99 and
// max, deliveries and their p99.
function perSecond(ackPoints, fanPoints, secs) {
  const rows = [];
  for (let s = 0; s < Math.ceil(secs); s++) {
    const inSecond = (points) => points.filter(([t]) => t >= s * 1000 && t < (s + 1) * 1000).map(([, v]) => v);
    const acks = inSecond(ackPoints);
    const fan = inSecond(fanPoints);
    const a = pct(acks);
    rows.push({ s, acks: acks.length, ack_p99: a.p99, ack_max: a.max, fanout_p99: pct(fan).p99 });
  }
  return rows;
}

// ---------------------------------------------------------------------------- http
async function httpMode() {
  const lat = [];
  const statuses = {};
  let i = 0;
  let bytes = 0;
  const cpu = cpuMeter();
  const t0 = now();
  const stopAt = t0 + (cfg.max_seconds ?? 60) * 1000;
  say("MEASURE_START");
  const worker = async () => {
    while (i < cfg.count && now() < stopAt) {
      const path = cfg.paths[i++ % cfg.paths.length];
      const t = now();
      try {
        const res = await fetch(cfg.base + path, { headers: { Cookie: cfg.cookie, Origin: cfg.origin } });
        const body = await res.arrayBuffer();
        bytes += body.byteLength;
        statuses[res.status] = (statuses[res.status] || 0) + 1;
      } catch (e) {
        statuses[e.code || "fetch_error"] = (statuses[e.code || "fetch_error"] || 0) + 1;
      }
      lat.push(now() - t);
    }
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  say("MEASURE_END");
  const secs = (now() - t0) / 1000;
  return {
    mode: "http",
    concurrency: cfg.concurrency,
    requests: lat.length,
    per_s: Math.round((lat.length / secs) * 10) / 10,
    statuses,
    mean_bytes: Math.round(bytes / Math.max(1, lat.length)),
    latency_ms: pct(lat),
    ...cpu(),
  };
}

// ---------------------------------------------------------------------------- sync
async function syncMode() {
  const lat = [];
  const counts = [];
  const failures = {};
  for (let k = 0; k < cfg.repeat; k++) {
    let seen = 0;
    let resolveDone;
    const done = new Promise((r) => (resolveDone = r));
    let err = null;
    const r = await open(cfg.urls[0], cfg.cookie, (_ws, f) => {
      // The replay is a `chat-history` with `events` (or single events), then the ack.
      if (f.event === "error") err = f.data?.code || "error";
      const d = f.data || {};
      if (f.event === "chat-history" && d.room_id === cfg.room_id) {
        seen += (d.events || d.messages || []).length;
      } else if (d.room_id === cfg.room_id && typeof (d.seq ?? d.message?.seq) === "number") {
        seen++;
      }
      if ((f.event === "ack" && f.ack === "sync") || f.event === "error") resolveDone();
    });
    if (r.error) {
      failures[r.error] = (failures[r.error] || 0) + 1;
      continue;
    }
    const t = now();
    r.ws.send(JSON.stringify({ event: "sync", data: { rooms: { [cfg.room_id]: cfg.after_seq } }, ack: "sync" }));
    const timeout = sleep(10000).then(() => "timeout");
    const outcome = await Promise.race([done, timeout]);
    if (outcome === "timeout" || err) failures[err || "timeout"] = (failures[err || "timeout"] || 0) + 1;
    else {
      lat.push(now() - t);
      counts.push(seen);
    }
    r.ws.terminate();
  }
  return { mode: "sync", behind: cfg.last_seq - cfg.after_seq, runs: lat.length, events_received: counts, failures, latency_ms: pct(lat) };
}

// ---------------------------------------------------------------------------- routing
// 50 agents online (sockets), N customers create rooms over REST at cfg.create_rate/s:
// each POST answers `active` (assigned) or `queued` (with a position). Agents' sockets
// get `room-assigned` (user group). Then every agent closes its rooms and the queue
// drains: time until every queued room is assigned.
async function routingMode() {
  const assignedAt = new Map(); // room id -> [time, agent index]
  const agentSocks = [];
  const headers = (u) => ({
    Cookie: u.cookie,
    "X-CSRFToken": u.csrf,
    Origin: cfg.origin,
    "Content-Type": "application/json",
  });
  for (let i = 0; i < cfg.agents.length; i++) {
    const r = await open(cfg.urls[i % cfg.urls.length], cfg.agents[i].cookie, (_ws, f) => {
      if (f.event !== "room-assigned") return;
      const id = f.data?.room_id ?? f.data?.room?.id;
      if (id && !assignedAt.has(id)) assignedAt.set(id, [now(), i]);
    });
    if (!r.error) agentSocks.push(r.ws);
  }
  await sleep(1000); // presence settles
  const created = [];
  const t0 = now();
  const posts = [];
  for (let i = 0; i < cfg.customers.length; i++) {
    const at = t0 + (i * 1000) / cfg.create_rate;
    const wait = at - now();
    if (wait > 0) await sleep(wait);
    const u = cfg.customers[i];
    posts.push(
      fetch(cfg.base + "/api/chat/rooms", {
        method: "POST",
        headers: headers(u),
        // With teams (the routing-teams variant), each customer's team: one queue per team.
        body: JSON.stringify({ subject: `burst ${i}`, ...(u.team_id ? { team_id: u.team_id } : {}) }),
      })
        .then(async (res) => {
          const body = await res.json().catch(() => ({}));
          created.push({ at, done: now(), status: res.status, room: body });
        })
        .catch((e) => created.push({ at, done: now(), status: e.code || "fetch_error", room: {} })),
    );
  }
  await Promise.all(posts);
  const lastCreate = Math.max(...created.map((c) => c.done));
  // Routing may answer `queued` and assign a moment later: what counts is the agents'
  // `room-assigned` events. Wait (bounded) for them to settle.
  const ok = created.filter((c) => c.status === 201);
  const capacity = cfg.agents.length * cfg.max_chats;
  const settleUntil = lastCreate + (cfg.settle_s ?? 5) * 1000;
  const assignedCount = () => ok.filter((c) => assignedAt.has(c.room.id)).length;
  while (now() < settleUntil && assignedCount() < Math.min(capacity, ok.length)) await sleep(50);
  const within2s = ok.filter((c) => (assignedAt.get(c.room.id)?.[0] ?? Infinity) <= lastCreate + 2000);
  const assigned = ok.filter((c) => assignedAt.has(c.room.id));
  const perAgent = {};
  for (const c of assigned) {
    const a = assignedAt.get(c.room.id)[1];
    perAgent[a] = (perAgent[a] || 0) + 1;
  }
  const toAssigned = assigned.map((c) => assignedAt.get(c.room.id)[0] - c.at);
  const times = assigned.map((c) => assignedAt.get(c.room.id)[0]);
  const firstAssign = Math.min(...times);
  const lastAssign = Math.max(...times);
  const answeredActive = ok.filter((c) => c.room.status === "active").length;
  // Drain: agents close their rooms; the rooms still waiting must then be assigned.
  const drainStart = now();
  const waiting = ok.filter((c) => !assignedAt.has(c.room.id)).map((c) => c.room.id);
  const closes = assigned.map((c) => [c.room.id, cfg.agents[assignedAt.get(c.room.id)[1]]]);
  let ci = 0;
  const closeStatuses = {};
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (ci < closes.length) {
        const [room, agent] = closes[ci++];
        const res = await fetch(`${cfg.base}/api/chat/rooms/${room}`, { method: "DELETE", headers: headers(agent) }).catch(() => null);
        const k = res ? res.status : "fetch_error";
        closeStatuses[k] = (closeStatuses[k] || 0) + 1;
      }
    }),
  );
  const expectDrained = Math.min(waiting.length, capacity);
  const drainDeadline = now() + (cfg.drain_s ?? 60) * 1000;
  const drainedNow = () => waiting.filter((id) => assignedAt.has(id)).length;
  while (now() < drainDeadline && drainedNow() < expectDrained) await sleep(50);
  const drained = waiting.filter((id) => assignedAt.has(id));
  const drainEnd = drained.length ? Math.max(...drained.map((id) => assignedAt.get(id)[0])) : null;
  for (const ws of agentSocks) ws.terminate();
  const statuses = {};
  for (const c of created) statuses[c.status] = (statuses[c.status] || 0) + 1;
  return {
    mode: "routing",
    agents_online: agentSocks.length,
    customers: cfg.customers.length,
    create_seconds: Math.round((lastCreate - t0) / 10) / 100,
    statuses,
    answered_active: answeredActive,
    assigned: assigned.length,
    assigned_within_2s_of_last_create: within2s.length,
    waiting: waiting.length,
    max_per_agent: Math.max(0, ...Object.values(perAgent)),
    agents_over_capacity: Object.values(perAgent).filter((n) => n > cfg.max_chats).length,
    assignments_per_s: Math.round((assigned.length / Math.max(0.001, (lastAssign - firstAssign) / 1000)) * 10) / 10,
    time_to_assigned_ms: pct(toAssigned),
    close_statuses: closeStatuses,
    drained: drained.length,
    expected_drained: expectDrained,
    drain_seconds: drainEnd ? Math.round((drainEnd - drainStart) / 10) / 100 : null,
  };
}

const modes = { idle: idleMode, reconnect: reconnectMode, chat: chatMode, http: httpMode, sync: syncMode, routing: routingMode };
const result = await modes[cfg.mode]();
clearTimeout(hardDeadline);
say("RESULT " + JSON.stringify(result));
process.exit(0);
