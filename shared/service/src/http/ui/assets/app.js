// Boot: credentials (session link or API key), the connection picker, the section tabs
// (#/connection, #/mappings, …) and the return from Salesforce's login.
(function () {
  "use strict";
  const CS = window.CS;
  const h = CS.h;
  const main = document.getElementById("main");
  const tabs = document.getElementById("tabs");
  const signOut = document.getElementById("sign-out");

  function screenName() {
    const name = location.hash.replace(/^#\/?/, "");
    return CS.screens[name] ? name : "connection";
  }

  CS.render = async function () {
    const name = screenName();
    for (const b of tabs.querySelectorAll("button")) {
      if (b.dataset.screen === name) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    }
    if (name !== "connection" && !CS.state.connection) {
      main.replaceChildren(CS.card("No connection yet", h("p", {}, "Connect a Salesforce org first."), h("a", { href: "#/connection" }, "Go to Connection")));
      return;
    }
    main.setAttribute("aria-busy", "true");
    try {
      main.replaceChildren(await CS.screens[name]());
    } catch (e) {
      main.replaceChildren(CS.errorBox(e, "This section could not be loaded."));
    } finally {
      main.removeAttribute("aria-busy");
    }
  };

  function signIn(message) {
    tabs.hidden = true;
    signOut.hidden = true;
    document.getElementById("conn-picker").replaceChildren();
    const key = h("input", { type: "password", id: "api-key", autocomplete: "off", required: true, spellcheck: "false" });
    const go = h("button", { type: "submit", class: "btn", id: "sign-in" }, "Open");
    main.replaceChildren(
      h("section", { class: "card signin" },
        h("h1", {}, "Salesforce sync"),
        message ? CS.errorBox(message) : null,
        h("p", { class: "muted" }, "Enter your crmsync API key. It stays in this browser tab only. If your app opened this page for you, go back and open it again."),
        h("form", { onsubmit: (e) => { e.preventDefault(); CS.auth.useKey(key.value); start(); } }, CS.field("API key", key), go)));
    key.focus();
  }

  CS.onUnauthorized = function (err) {
    CS.auth.clear();
    signIn(err);
  };

  function picker() {
    const holder = document.getElementById("conn-picker");
    if (CS.state.connections.length < 2) {
      holder.replaceChildren();
      return;
    }
    const sel = h("select", { id: "connection-select", onchange: (e) => { CS.state.connection = e.target.value; CS.render(); } },
      CS.state.connections.map((c) => h("option", { value: c.connection, selected: c.connection === CS.state.connection }, c.connection + (c.org_name ? " · " + c.org_name : ""))));
    holder.replaceChildren(h("label", { for: "connection-select" }, "Connection "), sel);
  }

  // Back from Salesforce's login: the callback appends ?status=connected&connection=….
  function arrival() {
    const q = new URLSearchParams(location.search);
    if (!q.has("status")) return null;
    const connection = q.get("connection");
    if (q.get("status") === "connected") CS.toast("Connected to Salesforce" + (connection ? " (" + connection + ")" : "") + ".");
    history.replaceState(null, "", location.pathname + location.hash);
    return connection;
  }

  async function start() {
    if (!CS.auth.current) return signIn();
    const arrived = arrival();
    try {
      const list = await CS.api("GET", "/v1/connections");
      CS.state.connections = list.connections || [];
    } catch (e) {
      if (e.status !== 401) main.replaceChildren(CS.errorBox(e, "crmsync could not be reached."));
      return;
    }
    const bound = CS.auth.sessionConnection();
    const names = CS.state.connections.map((c) => c.connection);
    CS.state.connection = bound || (arrived && names.includes(arrived) ? arrived : names[0]) || null;
    if (bound) CS.state.connections = CS.state.connections.filter((c) => c.connection === bound);
    tabs.hidden = false;
    signOut.hidden = CS.auth.current.scheme !== "Bearer";
    picker();
    CS.render();
  }

  tabs.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-screen]");
    if (!b) return;
    if (location.hash === "#/" + b.dataset.screen) CS.render();
    else location.hash = "#/" + b.dataset.screen;
  });
  window.addEventListener("hashchange", () => {
    if (/^#session=/.test(location.hash)) {
      CS.auth.load();
      start();
      return;
    }
    CS.render().then(() => main.focus());
  });
  signOut.addEventListener("click", () => {
    CS.auth.clear();
    signIn();
  });

  CS.auth.load();
  start();
})();
