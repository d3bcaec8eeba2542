// Who is signed in: the sign-in (and sign-up) forms, the name and Sign out in the top
// bar, and the connection line there.

import { api } from "./rest.js";
import { $, errorText, nameOf, show } from "./dom.js";

// The connection line in the top bar, and the strip under it that says, in words, that
// the page is offline or reconnecting and that what is written waits (issue 31); once
// the socket is back, "Back online" for a few seconds. A reconnect that succeeds within
// RECONNECT_QUIET_MS shows nothing in the strip; going offline shows at once.
const RECONNECT_QUIET_MS = 1500;
const BACK_ONLINE_MS = 4000;

export function bindConnection(client) {
  const node = $("[data-conn]");
  const strip = $("[data-netstate]");
  const labels = { connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline", "signed-out": "Signed out" };
  let shown = false; // the strip told of an outage: say when it is over
  let timer = null;
  const say = (text, kind) => {
    strip.textContent = text;
    strip.dataset.kind = kind || "";
    show(strip, !!text);
  };
  const down = (text) => {
    shown = true;
    say(text, "down");
  };
  client.on("state", (state) => {
    node.textContent = labels[state] || "";
    node.dataset.state = state;
    show(node, state !== "open" && !!labels[state]);
    clearTimeout(timer);
    if (state === "offline") {
      down("You are offline. What you write is kept and sent when the connection is back.");
    } else if (state === "reconnecting") {
      timer = setTimeout(
        () => down("The connection to the server was lost. Reconnecting… What you write is kept and sent once it is back."),
        shown ? 0 : RECONNECT_QUIET_MS,
      );
    } else if (state === "open" && shown) {
      shown = false;
      say("Back online.", "up");
      timer = setTimeout(() => say(""), BACK_ONLINE_MS);
    } else if (state !== "connecting") {
      say("");
    }
  });
}

// Sign-in (and, on the customer page, sign-up) forms. Calls onSignedIn(user).
export function bindAuth(onSignedIn) {
  const section = $("[data-auth]");
  const loginForm = $("[data-login-form]", section);
  const registerForm = $("[data-register-form]", section);
  const fail = (form, err) => {
    const out = $("[data-error]", form);
    out.textContent = errorText(err);
    show(out, true);
  };
  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(loginForm);
    try {
      const user = await api.login(data.get("username").trim(), data.get("password"));
      show($("[data-error]", loginForm), false);
      loginForm.reset();
      onSignedIn(user);
    } catch (err) {
      fail(loginForm, err);
    }
  });
  if (registerForm) {
    registerForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(registerForm);
      const body = {
        username: data.get("username").trim(),
        email: data.get("email").trim(),
        password: data.get("password"),
      };
      const displayName = data.get("display_name").trim();
      if (displayName) body.display_name = displayName;
      try {
        await api.post("/api/auth/register", body);
        const user = await api.login(body.username, body.password);
        show($("[data-error]", registerForm), false);
        registerForm.reset();
        onSignedIn(user);
      } catch (err) {
        fail(registerForm, err);
      }
    });
  }
  return {
    show(visible) {
      show(section, visible);
      if (visible) $("input[name=username]", loginForm).focus();
    },
  };
}

export function bindSignOut(user) {
  const who = $("[data-who]");
  const button = $("[data-signout]");
  who.textContent = `${nameOf(user)} (${user.username})`;
  show(who, true);
  show(button, true);
  button.onclick = async () => {
    try {
      await api.logout();
    } finally {
      location.reload();
    }
  };
}
