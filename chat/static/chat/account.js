// Who is signed in: the sign-in (and sign-up) forms, the name and Sign out in the top
// bar, and the connection line there.

import { api } from "./rest.js";
import { $, errorText, nameOf, show } from "./dom.js";

// The connection line in the top bar.
export function bindConnection(client) {
  const node = $("[data-conn]");
  const labels = { connecting: "Connecting…", reconnecting: "Offline · reconnecting…", "signed-out": "Signed out" };
  client.on("state", (state) => {
    node.textContent = labels[state] || "";
    node.dataset.state = state;
    show(node, state !== "open" && !!labels[state]);
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
