// REST helpers of the support-chat contract: fetch with the session cookie and CSRF,
// contract errors as ApiError, and a uuid for client_msg_id. Nothing here touches the DOM.

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (status === 0 ? "network_error" : "http_" + status);
    this.details = error.details || {};
  }

  // The first field message of a validation error, else the message.
  get text() {
    const fields = this.details && this.details.fields;
    if (fields) {
      for (const [name, messages] of Object.entries(fields)) {
        const first = Array.isArray(messages) ? messages[0] : messages;
        if (first) return name === "non_field_errors" ? String(first) : `${name}: ${first}`;
      }
    }
    return this.message;
  }
}

export function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

// The CSRF token is read from the cookie on every unsafe request: login rotates it.
async function csrfToken() {
  let token = readCookie("csrftoken");
  if (!token) {
    await fetch("/api/auth/csrf", { credentials: "same-origin" });
    token = readCookie("csrftoken");
  }
  return token;
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") {
    headers["X-CSRFToken"] = await csrfToken();
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, { error: { code: "network_error", message: "The server cannot be reached." } });
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  csrf: () => request("GET", "/api/auth/csrf"),
  get: (path) => request("GET", path),
  post: (path, body) => request("POST", path, body === undefined ? {} : body),
  put: (path, body) => request("PUT", path, body),
  patch: (path, body) => request("PATCH", path, body),
  del: (path) => request("DELETE", path),
  upload(roomId, file) {
    const form = new FormData();
    form.append("file", file);
    return request("POST", `/api/chat/rooms/${encodeURIComponent(roomId)}/attachments`, form);
  },
  // The signed-in user, or null.
  async profile() {
    try {
      return await request("GET", "/api/auth/profile");
    } catch (err) {
      if (err.status === 401 || err.status === 403) return null;
      throw err;
    }
  },
  login: (username, password) => request("POST", "/api/auth/login", { username, password }),
  logout: () => request("POST", "/api/auth/logout"),
};

// crypto.randomUUID exists only in secure contexts; getRandomValues everywhere.
export function uuid() {
  if (window.crypto && typeof crypto.randomUUID === "function" && window.isSecureContext) {
    return crypto.randomUUID();
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
