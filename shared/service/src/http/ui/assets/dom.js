// Small DOM helpers. Text always goes in as text nodes (never innerHTML), so nothing from
// Salesforce or the app can become markup.
(function () {
  "use strict";
  const CS = window.CS;

  // h("div", {class: "x", onclick: fn}, child, "text", [more children])
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "value") el.value = v;
      else if (k === "checked") el.checked = !!v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  CS.h = h;

  let seq = 0;
  CS.uid = (p) => (p || "id") + "-" + ++seq;

  CS.badge = (text, tone) => h("span", { class: "badge " + (tone || "") }, text);

  CS.statusTone = function (status) {
    const s = String(status || "").toLowerCase();
    if (["connected", "ok", "completed", "success", "on"].includes(s)) return "ok";
    if (["error", "failed", "issue", "reconnectneeded", "reconnect_needed"].includes(s)) return "bad";
    if (["parked", "quota_paused", "quotapaused", "partial", "slowed", "pending", "skipped"].includes(s)) return "warn";
    return "";
  };

  CS.when = function (iso) {
    if (!iso) return "never";
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  };
  CS.num = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString());

  // A labelled control: returns [wrapper, control].
  CS.field = function (label, control, hint) {
    const id = control.id || (control.id = CS.uid("f"));
    const wrap = h("div", { class: "field" }, h("label", { for: id }, label), control);
    if (hint) {
      const hid = CS.uid("hint");
      control.setAttribute("aria-describedby", hid);
      wrap.appendChild(h("span", { class: "muted small", id: hid }, hint));
    }
    return wrap;
  };

  CS.table = function (caption, headers, rows, numeric) {
    const num = new Set(numeric || []);
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        {},
        caption ? h("caption", { class: "sr-only" }, caption) : null,
        h("thead", {}, h("tr", {}, headers.map((t, i) => h("th", { scope: "col", class: num.has(i) ? "num" : null }, t)))),
        h("tbody", {}, rows)
      )
    );
  };

  CS.toast = function (message, tone) {
    const box = document.getElementById("toast");
    const item = h("div", { class: tone || "" }, message);
    box.appendChild(item);
    setTimeout(() => item.remove(), 6000);
  };

  // An error as a sentence, in an alert region.
  CS.errorBox = (err, lead) =>
    h("div", { class: "alert bad", role: "alert" }, lead ? lead + " " : "", err && err.message ? err.message : String(err));

  // Disables a button while `work` runs; shows its failure as a toast.
  CS.busy = async function (button, work) {
    button.disabled = true;
    try {
      return await work();
    } catch (e) {
      CS.toast(e.message || String(e), "bad");
      return undefined;
    } finally {
      button.disabled = false;
    }
  };

  CS.card = (title, ...children) => h("section", { class: "card" }, title ? h("h2", {}, title) : null, children);
})();
