// The Mappings screen: per object, each field's rule, direction, triggers and live
// Ok/Issue status; picklist inspection; owner mapping with the unmapped owners; the stage
// map. Edits change a draft of the config; Save sends it with the version it was read at,
// and a refused config shows each problem next to the control its path names.
(function () {
  "use strict";
  const CS = window.CS;
  const h = CS.h;

  const RULES = [
    ["two_way", "Two-way", "⇄ both ways"],
    ["app_only", "App → Salesforce", "→ to Salesforce"],
    ["salesforce_unless_blank", "Salesforce → app (unless blank)", "← from Salesforce"],
    ["dont_sync", "Don't sync", "— not synced"],
  ];
  const TRIGGERS = [["create", "Create"], ["update", "Update"], ["demo_set", "Demo set"], ["sale", "Sale"]];
  const FREQUENCIES = [["every_minute", "Every minute"], ["every_5_minutes", "Every 5 minutes"], ["every_15_minutes", "Every 15 minutes"], ["hourly", "Hourly"]];
  const POLICIES = [["most_recent", "The most recent change wins"], ["crm_wins", "Salesforce wins"], ["app_wins", "The app wins"]];

  const m = { draft: null, version: 0, status: null, runs: [], problems: [], object: null };

  const problemsAt = (path) => m.problems.filter((p) => p.path === path);

  // Marks a control invalid and puts its problems right after it.
  function withProblems(path, control) {
    control.setAttribute("data-path", path);
    const found = problemsAt(path);
    if (!found.length) return control;
    const id = CS.uid("problem");
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", id);
    return h("div", {}, control, h("div", { id }, found.map((p) => h("p", { class: "problem" }, p.message))));
  }

  function rerender() {
    const main = document.getElementById("mappings-root");
    if (main) main.replaceWith(view());
  }

  // Sync frequency and what wins when both sides changed a field.
  function general() {
    const pick = (key, options, label) => {
      const sel = h("select", { onchange: (e) => (m.draft[key] = e.target.value) },
        options.map(([v, t]) => h("option", { value: v, selected: v === m.draft[key] }, t)));
      sel.setAttribute("data-path", key);
      const field = CS.field(label, sel);
      problemsAt(key).forEach((p) => field.appendChild(h("p", { class: "problem" }, p.message)));
      return field;
    };
    return h("div", { class: "form-row" },
      pick("frequency", FREQUENCIES, "Sync frequency"),
      pick("conflict_policy", POLICIES, "When both sides changed a field"));
  }

  function objectSettings(name, obj) {
    const box = (label, get, set) =>
      h("label", { class: "check" }, h("input", { type: "checkbox", checked: get(), onchange: (e) => set(e.target.checked) }), label);
    return h("div", { class: "actions" },
      box("Sync this object", () => obj.enabled, (v) => (obj.enabled = v)),
      h("span", { class: "muted small" }, "Salesforce → app:"),
      box("create", () => obj.inbound.create, (v) => (obj.inbound.create = v)),
      box("update", () => obj.inbound.update, (v) => (obj.inbound.update = v)),
      h("span", { class: "muted small" }, "App → Salesforce:"),
      box("create", () => obj.outbound.create, (v) => (obj.outbound.create = v)),
      box("update", () => obj.outbound.update, (v) => (obj.outbound.update = v)));
  }

  function liveStatus(name, index, field) {
    const s = (m.status && m.status.mappings || []).find((x) => x.object === name && x.index === index && x.salesforce_field === field.salesforce_field);
    if (!s) return CS.badge("Not checked", "");
    return h("div", {}, CS.badge(s.status, CS.statusTone(s.status)), (s.problems || []).map((p) => h("div", { class: "small muted" }, typeof p === "string" ? p : p.message || JSON.stringify(p))));
  }

  function fieldRow(name, obj, field, i) {
    const base = "objects." + name + ".fields[" + i + "]";
    const label = field.app_field + " ↔ " + field.salesforce_field;
    const app = h("input", { type: "text", value: field.app_field, "aria-label": "App field of mapping " + (i + 1), spellcheck: "false", oninput: (e) => (field.app_field = e.target.value) });
    const sf = h("input", { type: "text", value: field.salesforce_field, "aria-label": "Salesforce field of mapping " + (i + 1) + " (" + label + ")", spellcheck: "false", oninput: (e) => (field.salesforce_field = e.target.value) });
    const direction = h("span", { class: "small" }, (RULES.find((r) => r[0] === field.rule) || [, , field.rule])[2]);
    const rule = h("select", { "aria-label": "Rule for " + label, onchange: (e) => { field.rule = e.target.value; direction.textContent = RULES.find((r) => r[0] === field.rule)[2]; } },
      RULES.map(([v, t]) => h("option", { value: v, selected: v === field.rule }, t)));
    const triggers = h("div", { class: "triggers", role: "group", "aria-label": "Triggers for " + label },
      TRIGGERS.map(([v, t]) => h("label", { class: "check" },
        h("input", { type: "checkbox", value: v, checked: (field.triggers || []).includes(v), onchange: (e) => {
          const set = new Set(field.triggers || []);
          e.target.checked ? set.add(v) : set.delete(v);
          field.triggers = TRIGGERS.map(([k]) => k).filter((k) => set.has(k));
        } }), t)));
    const remove = h("button", { type: "button", class: "btn danger small", "aria-label": "Remove mapping " + label, onclick: () => { obj.fields.splice(i, 1); rerender(); } }, "Remove");
    return h("tr", { "data-row": base },
      h("td", {}, withProblems(base + ".app_field", app)),
      h("td", {}, withProblems(base + ".salesforce_field", sf), problemsAt(base).map((p) => h("p", { class: "problem" }, p.message))),
      h("td", {}, withProblems(base + ".rule", rule)),
      h("td", {}, direction),
      h("td", {}, withProblems(base + ".triggers", triggers)),
      h("td", {}, liveStatus(name, i, field)),
      h("td", {}, remove));
  }

  function objectPanel(name) {
    const obj = m.draft.objects[name];
    const rows = obj.fields.map((f, i) => fieldRow(name, obj, f, i));
    const add = h("button", { type: "button", class: "btn secondary small", onclick: () => {
      obj.fields.push({ app_field: "", salesforce_field: "", rule: "two_way", triggers: ["create", "update"], kind: "string" });
      rerender();
    } }, "Add field");
    const objectProblems = m.problems.filter((p) => p.path === "objects." + name || p.path === "objects." + name + ".fields" || (p.path.startsWith("objects." + name + ".") && !p.path.includes(".fields[")));
    return h("section", { class: "card", "aria-label": name + " mappings" },
      h("div", { class: "card-head" }, h("h2", {}, name + " ↔ app " + obj.app_object), objectSettings(name, obj)),
      objectProblems.length ? h("div", { class: "alert bad" }, objectProblems.map((p) => h("p", { class: "problem" }, p.path + ": " + p.message))) : null,
      CS.table(name + " field mappings", ["App field", "Salesforce field", "Rule", "Direction", "Triggers (app events)", "Live status", ""], rows),
      h("div", { class: "actions pad" }, add));
  }

  function picklists() {
    const lists = (m.status && m.status.picklists) || [];
    const seen = new Set();
    const rows = lists.filter((p) => {
      const k = p.app_field + "|" + p.salesforce_field;
      return seen.has(k) ? false : seen.add(k);
    }).map((p) => h("tr", {},
      h("td", {}, p.app_field), h("td", {}, p.salesforce_field),
      h("td", {}, h("div", { class: "chips" }, p.salesforce_values.map((v) => h("span", { class: "chip" }, v)))),
      h("td", {}, p.missing_in_salesforce.length ? h("div", { class: "chips" }, p.missing_in_salesforce.map((v) => h("span", { class: "chip bad" }, v))) : "–"),
      h("td", {}, CS.badge(p.matches ? "Match" : "Differs", p.matches ? "ok" : "warn"))));
    return h("section", { class: "card", id: "picklists" }, h("h2", {}, "Picklists"),
      h("p", { class: "muted" }, "Salesforce's active values for each mapped picklist. App values Salesforce lacks are refused on push."),
      CS.table("Picklists", ["App field", "Salesforce field", "Salesforce values", "App values Salesforce lacks", ""], rows));
  }

  function owners() {
    const o = m.draft.owners;
    const unmapped = ((m.runs.find((r) => r.summary && (r.summary.unmapped_owners || []).length) || {}).summary || {}).unmapped_owners || [];
    const rows = Object.entries(o.app_users).map(([email, id]) => {
      const input = h("input", { type: "text", value: id, "aria-label": "App user id for " + email, oninput: (e) => (o.app_users[email] = e.target.value) });
      return h("tr", {}, h("td", {}, email), h("td", {}, withProblems("owners.app_users." + email, input)),
        h("td", {}, h("button", { type: "button", class: "btn danger small", "aria-label": "Remove owner " + email, onclick: () => { delete o.app_users[email]; rerender(); } }, "Remove")));
    });
    const missing = unmapped.filter((e) => !(e.toLowerCase() in o.app_users));
    const dflt = h("input", { type: "text", value: o.default_owner || "", oninput: (e) => (o.default_owner = e.target.value.trim() || null) });
    return h("section", { class: "card", id: "owners" }, h("h2", {}, "Owners"),
      h("label", { class: "check" }, h("input", { type: "checkbox", checked: o.enabled, onchange: (e) => (o.enabled = e.target.checked) }), "Map record owners by email"),
      rows.length ? CS.table("Owner mapping", ["Salesforce user email", "App user id", ""], rows) : h("p", { class: "muted" }, "No owner is mapped yet."),
      missing.length
        ? h("div", { class: "alert warn", id: "unmapped-owners" }, h("strong", {}, missing.length + " Salesforce owner(s) have no app user:"),
          h("ul", { class: "owner-list" }, missing.map((email) => h("li", {}, email, h("button", { type: "button", class: "btn secondary small", "aria-label": "Map " + email, onclick: () => { o.app_users[email.toLowerCase()] = ""; rerender(); } }, "Map")))))
        : h("p", { class: "muted small" }, "Every owner seen in the last runs has an app user."),
      withProblems("owners.default_owner", CS.field("App user for unmapped owners (optional)", dflt)));
  }

  function stages() {
    const map = m.draft.stage_map;
    const sfStages = (((m.status && m.status.picklists) || []).find((p) => p.salesforce_field === "StageName") || {}).salesforce_values || [];
    const listId = CS.uid("stages");
    const rows = Object.entries(map.to_salesforce).map(([app, sf], i) => {
      const input = h("input", { type: "text", value: sf, list: listId, "aria-label": "Salesforce stage for app stage " + app, oninput: (e) => (map.to_salesforce[app] = e.target.value) });
      return h("tr", {}, h("td", {}, app), h("td", {}, withProblems("stage_map.to_salesforce[" + i + "]", input)),
        h("td", {}, sfStages.length && !sfStages.includes(sf) ? CS.badge("Not in Salesforce", "bad") : CS.badge("Ok", "ok")));
    });
    return h("section", { class: "card", id: "stages" }, h("h2", {}, "Stage map"),
      h("datalist", { id: listId }, sfStages.map((s) => h("option", { value: s }))),
      CS.table("Stage map", ["App stage", "Salesforce stage", ""], rows),
      h("p", { class: "muted small" }, "Salesforce → app: " + Object.entries(map.to_app).map(([sf, app]) => sf + " → " + app).join(", ")));
  }

  async function save(button) {
    await CS.busy(button, async () => {
      try {
        const saved = await CS.api("PUT", CS.conn("/config"), { expected_version: m.version, config: m.draft });
        m.version = saved.version;
        m.draft = saved.config;
        m.problems = [];
        m.status = await CS.api("GET", CS.conn("/config/status"));
        rerender();
        CS.toast("Saved. The config is now version " + saved.version + ".");
      } catch (e) {
        // The API names paths from the request body, whose config sits under `config`.
        m.problems = (e.problems || []).map((p) => ({ path: p.path.replace(/^config\./, ""), message: p.message }));
        rerender();
        const summary = document.getElementById("save-result");
        summary.replaceChildren(
          m.problems.length
            ? h("div", { class: "alert bad", role: "alert" },
              h("strong", {}, "The config was not saved: " + m.problems.length + " problem(s), each shown next to its field."),
              h("ul", {}, m.problems.map((p) => h("li", {}, h("code", {}, p.path), " ", p.message))))
            : CS.errorBox(e, "The config was not saved:"));
        const first = document.querySelector("#mappings-root [aria-invalid=true]");
        (first || summary).focus && (first || summary).focus();
      }
    });
  }

  function view() {
    const names = Object.keys(m.draft.objects);
    if (!m.object || !names.includes(m.object)) m.object = names[0];
    const tabs = h("div", { class: "subtabs", role: "group", "aria-label": "Salesforce objects" },
      names.map((n) => {
        const bad = m.problems.some((p) => p.path.startsWith("objects." + n + ".") || p.path === "objects." + n);
        return h("button", { type: "button", "aria-pressed": n === m.object ? "true" : "false", onclick: () => { m.object = n; rerender(); } }, n, bad ? " ⚠" : "");
      }));
    const readiness = (m.status && m.status.readiness) || [];
    const saveBtn = h("button", { type: "button", class: "btn", id: "save-config" }, "Save changes");
    saveBtn.addEventListener("click", () => save(saveBtn));
    const discard = h("button", { type: "button", class: "btn secondary", onclick: () => CS.render() }, "Discard changes");
    return h("div", { id: "mappings-root" },
      h("section", { class: "card" },
        h("div", { class: "card-head" }, h("h1", {}, "Mappings"),
          h("span", {}, CS.badge(m.status && m.status.ready ? "Ready to sync" : "Not ready", m.status && m.status.ready ? "ok" : "warn"), " ", h("span", { class: "muted small" }, "version " + m.version))),
        readiness.length ? h("div", { class: "alert warn" }, h("ul", {}, readiness.map((p) => h("li", {}, p.message)))) : null,
        h("div", { id: "save-result", tabindex: "-1" }),
        general(),
        tabs),
      objectPanel(m.object),
      picklists(),
      owners(),
      stages(),
      h("div", { class: "savebar" }, saveBtn, discard, h("span", { class: "muted small" }, "Saving checks the version, so someone else's change is never overwritten.")));
  }

  CS.screens.mappings = async function () {
    const [cfg, status, runs] = await Promise.all([
      CS.api("GET", CS.conn("/config")),
      CS.api("GET", CS.conn("/config/status")).catch(() => null),
      CS.api("GET", CS.conn("/runs?limit=20")).catch(() => ({ runs: [] })),
    ]);
    m.draft = cfg.config;
    m.version = cfg.version;
    m.status = status;
    m.runs = runs.runs || [];
    m.problems = [];
    return view();
  };
})();
