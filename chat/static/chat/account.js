// Who is signed in: the sign-in (and sign-up) forms, the name and Sign out in the top
// bar, and the connection line there.

import { api } from "./rest.js";
import { $, clearFieldErrors, errorText, nameOf, show, showFieldErrors } from "./dom.js";

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

// Sign-up messages in plain words, under the field they are about (issue 31, item 10:
// they appeared raw, as "password: This password is too short…"). The server's
// wording is kept where it is already plain; these replace the ones that are not.
const BLANK = {
  username: "Choose a username.",
  email: "Enter your e-mail address.",
  password: "Choose a password.",
};
const PLAIN = [
  [/does not match the required pattern/i, "Use 3 to 150 letters, digits or . @ + - _ (no spaces)."],
  [/valid email/i, "Enter an e-mail address such as name@example.com."],
  [/too common/i, "This password is too common: choose one that is harder to guess."],
  [/entirely numeric/i, "Use letters too, not only digits."],
  [/too similar to the (username|user name)/i, "The password is too close to your username."],
  [/too similar to the email/i, "The password is too close to your e-mail address."],
  [/control or invisible/i, "Your name has invisible or control characters: type it again without them."],
];

export function plainFieldMessage(name, text) {
  if (/may not be blank|is required/i.test(text) && BLANK[name]) return BLANK[name];
  for (const [pattern, plain] of PLAIN) if (pattern.test(text)) return plain;
  return text;
}

// Checks made before asking the server (it checks again): the same plain words.
function checkRegistration(body) {
  const problems = {};
  if (!body.username) problems.username = BLANK.username;
  else if (!/^[\p{L}\p{N}\p{M}_.@+-]{3,150}$/u.test(body.username)) problems.username = PLAIN[0][1];
  if (!body.email) problems.email = BLANK.email;
  else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(body.email)) problems.email = PLAIN[1][1];
  if (!body.password) problems.password = BLANK.password;
  else if (body.password.length < 8) problems.password = "Use at least 8 characters for the password.";
  return problems;
}

// {field: one plain sentence} from a validation error (every password rule that failed).
function registrationProblems(err) {
  const fields = (err && err.details && err.details.fields) || {};
  const out = {};
  for (const [name, messages] of Object.entries(fields)) {
    const list = (Array.isArray(messages) ? messages : [messages]).map((m) => plainFieldMessage(name, String(m)));
    if (list.length) out[name] = [...new Set(list)].join(" ");
  }
  return out;
}

// Sign-in (and, on the customer page, sign-up) forms. Calls onSignedIn(user).
export function bindAuth(onSignedIn) {
  const section = $("[data-auth]");
  const loginForm = $("[data-login-form]", section);
  const registerForm = $("[data-register-form]", section);
  const fail = (form, text) => {
    const out = $("[data-error]", form);
    out.textContent = text;
    show(out, !!text);
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
      fail(loginForm, errorText(err));
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
      fail(registerForm, "");
      clearFieldErrors(registerForm);
      if (showFieldErrors(registerForm, checkRegistration(body)).length) return;
      let registered = false;
      try {
        await api.post("/api/auth/register", body);
        registered = true;
        const user = await api.login(body.username, body.password);
        registerForm.reset();
        onSignedIn(user);
      } catch (err) {
        if (registered) {
          fail(registerForm, `Your account was created, but signing in failed: ${errorText(err)} Sign in above.`);
          return;
        }
        const placed = showFieldErrors(registerForm, registrationProblems(err));
        if (!placed.length) fail(registerForm, errorText(err));
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
