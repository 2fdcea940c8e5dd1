// The Connection, Test sync, Runs, Reports and Quota screens. Each screen is a function
// that returns a node (or a promise of one) for <main>.
(function () {
  "use strict";
  const CS = window.CS;
  const h = CS.h;
  CS.screens = CS.screens || {};

  const STATUS_TEXT = {
    Connected: "Connected",
    ReconnectNeeded: "Reconnect needed",
    Disconnected: "Disconnected",
    Pending: "Not connected yet",
  };

  // ---- Connection

  async function startConnect(button, connection, env) {
    await CS.busy(button, async () => {
      const reply = await CS.api("POST", "/v1/connections/" + encodeURIComponent(connection) + "/connect", {
        env,
        return_to: location.origin + location.pathname + "#/connection",
      });
      location.assign(reply.authorize_url);
    });
  }

  function connectCard(defaultId) {
    // A session bound to one connection can connect only that one.
    const bound = CS.auth.sessionConnection();
    const id = h("input", { type: "text", value: bound || defaultId || "production", readonly: !!bound, autocomplete: "off", spellcheck: "false" });
    const env = h("select", {}, h("option", { value: "production" }, "Production"), h("option", { value: "sandbox" }, "Sandbox"));
    const go = h("button", { type: "submit", class: "btn", id: "connect" }, "Connect to Salesforce");
    const form = h(
      "form",
      { onsubmit: (e) => (e.preventDefault(), startConnect(go, id.value.trim(), env.value)) },
      h("div", { class: "form-row" }, CS.field("Connection name", id, "Letters, digits, - and _."), CS.field("Salesforce environment", env)),
      go
    );
    return CS.card("Connect a Salesforce org", h("p", { class: "muted" }, "You will sign in to Salesforce and approve crmsync's access. Your password is never shared with crmsync."), form);
  }

  function syncSwitch(details) {
    const on = !!details.sync_enabled;
    const button = h(
      "button",
      { type: "button", class: "switch", role: "switch", id: "sync-switch", "aria-checked": on ? "true" : "false", "aria-describedby": "sync-help" },
      h("span", { class: "track", "aria-hidden": "true" }),
      h("span", {}, "Sync with Salesforce: "),
      h("span", { class: "state" }, on ? "On" : "Off")
    );
    button.addEventListener("click", () =>
      CS.busy(button, async () => {
        const next = button.getAttribute("aria-checked") !== "true";
        const reply = await CS.api("POST", CS.conn("/sync"), { enabled: next });
        button.setAttribute("aria-checked", reply.sync_enabled ? "true" : "false");
        button.querySelector(".state").textContent = reply.sync_enabled ? "On" : "Off";
        CS.toast(reply.sync_enabled ? "The sync is on: crmsync polls and pushes." : "The sync is off: nothing is read or written until you turn it on.");
      })
    );
    return h(
      "div",
      {},
      button,
      h("p", { id: "sync-help", class: "muted small" }, "While off, crmsync neither polls Salesforce nor pushes app changes; run a test sync first, then turn it on.")
    );
  }

  CS.screens.connection = async function () {
    if (!CS.state.connection) return connectCard();
    let d;
    try {
      d = await CS.api("GET", CS.conn());
    } catch (e) {
      if (e.status === 404) return connectCard(CS.state.connection);
      throw e;
    }
    const status = d.status || "Pending";
    const connected = status === "Connected";
    const reconnect = h("button", { type: "button", class: "btn", id: "reconnect" }, connected ? "Reconnect" : "Connect");
    reconnect.addEventListener("click", () => startConnect(reconnect, d.connection, d.environment || "production"));
    const actions = h("div", { class: "actions" }, reconnect);
    if (status !== "Disconnected") {
      const disconnect = h("button", { type: "button", class: "btn danger", id: "disconnect" }, "Disconnect");
      disconnect.addEventListener("click", () => {
        const sure = h("button", { type: "button", class: "btn danger solid", id: "confirm-disconnect" }, "Yes, disconnect");
        const cancel = h("button", { type: "button", class: "btn secondary" }, "Cancel");
        const ask = h("div", { class: "alert warn", role: "alertdialog", "aria-label": "Confirm disconnect" },
          h("p", {}, "Disconnect " + (d.org_name || "this org") + "? crmsync forgets its token and stops syncing. Links and reports stay."),
          h("div", { class: "actions" }, sure, cancel));
        actions.after(ask);
        sure.focus();
        cancel.addEventListener("click", () => (ask.remove(), disconnect.focus()));
        sure.addEventListener("click", () =>
          CS.busy(sure, async () => {
            await CS.api("POST", CS.conn("/disconnect"));
            CS.toast("Disconnected.");
            CS.render();
          })
        );
      });
      actions.appendChild(disconnect);
    }
    const err = d.last_error
      ? h("div", { class: "alert bad", role: "note" }, h("strong", {}, "Last error" + (d.last_error_code ? " (" + d.last_error_code + ")" : "") + ": "), d.last_error)
      : null;
    return h(
      "div",
      {},
      h(
        "section",
        { class: "card" },
        h("div", { class: "card-head" }, h("h1", {}, d.org_name || "Salesforce org"), CS.badge(STATUS_TEXT[status] || status, CS.statusTone(status))),
        err,
        h(
          "div",
          { class: "grid" },
          h("dl", { class: "facts" },
            h("dt", {}, "Connection"), h("dd", {}, d.connection),
            h("dt", {}, "Environment"), h("dd", {}, d.environment || "–"),
            h("dt", {}, "Org ID"), h("dd", { class: "mono" }, d.org_id || "–"),
            h("dt", {}, "Connected as"), h("dd", {}, d.connected_user ? d.connected_user.username : "–"),
            h("dt", {}, "Instance"), h("dd", { class: "mono" }, d.instance_url || "–")),
          h("dl", { class: "facts", "aria-label": "Health" },
            h("dt", {}, "Last sync"), h("dd", {}, CS.when(d.last_sync_at)),
            h("dt", {}, "Last success"), h("dd", {}, CS.when(d.last_success_at)),
            h("dt", {}, "Last failure"), h("dd", {}, CS.when(d.last_failure_at)),
            h("dt", {}, "Connected since"), h("dd", {}, CS.when(d.created_at)))
        ),
        h("hr", { class: "rule" }),
        actions
      ),
      connected ? CS.card("Sync", syncSwitch(d)) : null
    );
  };

  // ---- Test sync

  const WINDOWS = [["1", "Last hour"], ["24", "Last 24 hours"], ["168", "Last 7 days"], ["720", "Last 30 days"], ["", "Any time"]];

  function parseFilter(text) {
    const filter = {};
    text.split("\n").map((l) => l.trim()).filter(Boolean).forEach((line, i) => {
      const at = line.indexOf("=");
      if (at < 1) throw new Error("Filter line " + (i + 1) + " must look like Field = value.");
      const raw = line.slice(at + 1).trim();
      let value = raw;
      if (raw === "true" || raw === "false") value = raw === "true";
      else if (raw !== "" && !isNaN(Number(raw))) value = Number(raw);
      filter[line.slice(0, at).trim()] = value;
    });
    return filter;
  }

  function countsTable(objects) {
    const cols = ["fetched", "created", "updated", "unchanged", "skipped", "unlinked", "errors"];
    const rows = Object.entries(objects || {}).map(([name, c]) =>
      h("tr", {}, h("th", { scope: "row" }, name), cols.map((k) => h("td", { class: "num" + (k === "errors" && c[k] ? " bad" : "") }, CS.num(c[k]))))
    );
    return CS.table("Records per object", ["Object", ...cols.map((c) => c[0].toUpperCase() + c.slice(1))], rows, [1, 2, 3, 4, 5, 6, 7]);
  }

  function runResult(run) {
    const reasons = Object.entries(run.skip_reasons || {});
    return h(
      "section",
      { class: "card", id: "test-result", "aria-live": "polite" },
      h("div", { class: "card-head" }, h("h2", {}, "Result"), CS.badge(run.status, CS.statusTone(run.status)), h("span", { class: "muted small" }, CS.num(run.api_calls) + " API call(s)")),
      countsTable(run.objects),
      reasons.length ? h("div", { class: "alert warn" }, h("strong", {}, "Skipped records"), h("ul", {}, reasons.map(([r, n]) => h("li", {}, r + " (" + n + ")")))) : null,
      (run.unmapped_owners || []).length
        ? h("div", { class: "alert warn" }, h("strong", {}, "Salesforce owners with no app user: "), run.unmapped_owners.join(", "), h("p", { class: "small" }, "Map them under Mappings → Owners."))
        : null,
      (run.messages || []).length ? h("ul", {}, run.messages.map((m) => h("li", {}, typeof m === "string" ? m : JSON.stringify(m)))) : null
    );
  }

  CS.screens["test-sync"] = async function () {
    const cfg = await CS.api("GET", CS.conn("/config"));
    const objects = Object.entries(cfg.config.objects).filter(([, o]) => o.enabled).map(([n]) => n);
    const boxes = objects.map((n) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "object", value: n, checked: true }), n));
    const windowSel = h("select", { id: "test-window" }, WINDOWS.map(([v, t]) => h("option", { value: v, selected: v === "24" }, t)));
    const filter = h("textarea", { id: "test-filter", placeholder: "LeadSource = Web", spellcheck: "false" });
    const limit = h("input", { type: "number", id: "test-limit", min: 1, max: 2000, value: 50 });
    const run = h("button", { type: "submit", class: "btn", id: "run-test-sync" }, "Run test sync");
    const out = h("div", {});
    const form = h(
      "form",
      {
        onsubmit: async (e) => {
          e.preventDefault();
          out.replaceChildren();
          await CS.busy(run, async () => {
            let body;
            try {
              body = {
                objects: boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value),
                filter: parseFilter(filter.value),
                limit: Number(limit.value) || undefined,
              };
              if (windowSel.value) body.modified_within_hours = Number(windowSel.value);
            } catch (err) {
              out.replaceChildren(CS.errorBox(err));
              return;
            }
            try {
              out.replaceChildren(runResult(await CS.api("POST", CS.conn("/test-sync"), body)));
            } catch (err) {
              out.replaceChildren(CS.errorBox(err, "The test sync did not run."));
            }
          });
        },
      },
      h("fieldset", { class: "choices" }, h("legend", {}, "Objects"), boxes),
      h("div", { class: "form-row" }, CS.field("Modified", windowSel), CS.field("Records per object", limit)),
      CS.field("Filter (one Field = value per line, all must match)", filter),
      run
    );
    return h("div", {}, CS.card("Test sync", h("p", { class: "muted" }, "Reads a sample from Salesforce and applies it like a poll, so you can check the mapping before turning the sync on."), form), out);
  };

  // ---- Runs

  function total(run) {
    return Object.values((run.summary && run.summary.objects) || {}).reduce((a, c) => a + (c.fetched || 0), 0);
  }
  function sum(run, key) {
    return Object.values((run.summary && run.summary.objects) || {}).reduce((a, c) => a + (c[key] || 0), 0);
  }

  CS.screens.runs = async function () {
    const [list, quota] = await Promise.all([CS.api("GET", CS.conn("/runs?limit=100")), CS.api("GET", CS.conn("/quota"))]);
    const runs = list.runs || [];
    const recent = runs.slice(0, 30).reverse();
    const perDay = new Map();
    for (const r of runs) {
      const day = (r.started_at || "").slice(0, 10);
      perDay.set(day, (perDay.get(day) || 0) + ((r.summary && r.summary.api_calls) || 0));
    }
    // Today's bar is the connection's own counter (it counts every call, not only runs').
    if (quota.day) perDay.set(quota.day, Math.max(perDay.get(quota.day) || 0, quota.crmsync_calls_today || 0));
    const days = [...perDay.keys()].sort().slice(-14);
    const rows = runs.map((r) =>
      h("tr", {},
        h("td", {}, CS.when(r.started_at)),
        h("td", {}, r.kind.replace(/_/g, " ")),
        h("td", {}, CS.badge(r.status, CS.statusTone(r.status))),
        h("td", { class: "num" }, CS.num(total(r))),
        h("td", { class: "num" }, CS.num(sum(r, "created"))),
        h("td", { class: "num" }, CS.num(sum(r, "updated"))),
        h("td", { class: "num" }, CS.num(sum(r, "errors"))),
        h("td", { class: "num" }, CS.num(r.summary && r.summary.api_calls)))
    );
    return h(
      "div",
      {},
      h("div", { class: "grid" },
        CS.card("Records per run", CS.barChart({ title: "Records read per run", labels: recent.map((r) => new Date(r.started_at).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })), values: recent.map(total), unit: "records" })),
        CS.card("API calls per day", CS.barChart({ title: "API calls per day", labels: days.map((d) => d.slice(5)), values: days.map((d) => perDay.get(d)), limit: quota.crmsync_allowance || 0, limitLabel: "allowance " + CS.num(quota.crmsync_allowance), unit: "calls" }))),
      CS.card("History", runs.length
        ? CS.table("Runs", ["Started", "Kind", "Status", "Records", "Created", "Updated", "Errors", "API calls"], rows, [3, 4, 5, 6, 7])
        : h("p", { class: "muted" }, "No runs yet. Runs appear once the sync is on or a test sync has run."))
    );
  };

  // ---- Reports

  function reportRow(entry) {
    const details = h("button", { type: "button", class: "btn secondary small", "aria-expanded": "false" }, "Details");
    const row = h("tr", { "data-event": entry.event_id },
      h("td", {}, CS.when(entry.updated_at || entry.created_at)),
      h("td", { class: "mono" }, entry.event_id),
      h("td", {}, entry.object || "–"),
      h("td", {}, CS.badge(entry.status, CS.statusTone(entry.status))),
      h("td", {}, entry.code ? h("div", { class: "mono small" }, entry.code) : null, entry.reason || (entry.sf_id ? "Salesforce id " + entry.sf_id : "")),
      h("td", {}, details));
    let open = null;
    details.addEventListener("click", () =>
      CS.busy(details, async () => {
        if (open) {
          open.remove();
          open = null;
          details.setAttribute("aria-expanded", "false");
          return;
        }
        const d = await CS.api("GET", CS.conn("/reports/" + encodeURIComponent(entry.event_id)));
        const repush = h("button", { type: "button", class: "btn small repush" }, "Re-push");
        const done = h("span", { class: "muted small", role: "status" });
        repush.addEventListener("click", () =>
          CS.busy(repush, async () => {
            await CS.api("POST", CS.conn("/reports/" + encodeURIComponent(entry.event_id) + "/repush"));
            done.textContent = "Queued again. Refresh in a moment to see the outcome.";
            CS.toast("Re-push queued for " + entry.event_id + ".");
          })
        );
        open = h("tr", { class: "detail" }, h("td", { colspan: 6 },
          d.reason ? h("p", {}, h("strong", {}, "Reason: "), d.reason) : null,
          h("p", {}, h("strong", {}, "Payload")),
          h("pre", { tabindex: 0 }, JSON.stringify(d.event || {}, null, 2)),
          d.repushable ? h("div", { class: "actions" }, repush, done) : h("p", { class: "muted" }, "This event cannot be re-pushed.")));
        row.after(open);
        details.setAttribute("aria-expanded", "true");
      })
    );
    return row;
  }

  CS.screens.reports = async function () {
    const cfg = await CS.api("GET", CS.conn("/config"));
    const status = h("select", { id: "report-status" }, [["error", "Errors"], ["parked", "Parked"], ["success", "Succeeded"]].map(([v, t]) => h("option", { value: v }, t)));
    const object = h("select", { id: "report-object" }, h("option", { value: "" }, "All objects"), Object.keys(cfg.config.objects).map((o) => h("option", { value: o }, o)));
    const from = h("input", { type: "datetime-local", id: "report-from" });
    const to = h("input", { type: "datetime-local", id: "report-to" });
    const apply = h("button", { type: "submit", class: "btn", id: "report-apply" }, "Show");
    const out = h("div", { "aria-live": "polite" });
    async function load(cursor, tbody) {
      const q = new URLSearchParams({ status: status.value, limit: "50" });
      if (object.value) q.set("object", object.value);
      if (from.value) q.set("from", new Date(from.value).toISOString());
      if (to.value) q.set("to", new Date(to.value).toISOString());
      if (cursor) q.set("cursor", cursor);
      const page = await CS.api("GET", CS.conn("/reports?" + q));
      const rows = page.entries.map(reportRow);
      if (tbody) {
        rows.forEach((r) => tbody.appendChild(r));
      } else if (!rows.length) {
        out.replaceChildren(h("p", { class: "muted card" }, "No events match."));
        return;
      } else {
        const table = CS.table("Event reports", ["Time", "Event", "Object", "Status", "Reason", ""], rows);
        out.replaceChildren(table);
        tbody = table.querySelector("tbody");
      }
      out.querySelector(".more") && out.querySelector(".more").remove();
      if (page.next_cursor) {
        const more = h("button", { type: "button", class: "btn secondary more" }, "Load more");
        more.addEventListener("click", () => CS.busy(more, () => load(page.next_cursor, tbody)));
        out.appendChild(h("div", { class: "actions pad more" }, more));
      }
    }
    const form = h("form", {
      onsubmit: (e) => {
        e.preventDefault();
        CS.busy(apply, async () => {
          try {
            await load();
          } catch (err) {
            out.replaceChildren(CS.errorBox(err));
          }
        });
      },
    }, h("div", { class: "form-row" }, CS.field("Status", status), CS.field("Object", object), CS.field("From", from), CS.field("To", to), h("div", { class: "field" }, apply)));
    await load().catch((err) => out.replaceChildren(CS.errorBox(err)));
    return h("div", {}, CS.card("Event reports", h("p", { class: "muted" }, "What happened to each app event crmsync pushed. Fix the cause (often the mapping), then re-push."), form), out);
  };

  // ---- Quota

  CS.screens.quota = async function () {
    const q = await CS.api("GET", CS.conn("/quota"));
    const allowance = q.crmsync_allowance || 0;
    const pct = allowance ? Math.min(100, (100 * q.crmsync_calls_today) / allowance) : 0;
    const projPct = allowance ? (100 * q.projected_day_calls) / allowance : 0;
    // Set through the CSSOM: the page's CSP allows no inline style attributes.
    const fill = h("span", {});
    fill.style.width = pct.toFixed(1) + "%";
    const tone = q.paused || projPct > 100 ? "bad" : projPct > 80 ? "warn" : "ok";
    const verdict = q.paused
      ? "Paused: crmsync's share of today's API calls is spent. Work resumes when the budget frees up."
      : !allowance
        ? "The allowance is not known yet: crmsync reads it from Salesforce's next response."
        : projPct > 100
          ? "At today's rate crmsync would pass its allowance" + (q.poll_slowdown > 1 ? "; polls are spaced out " + q.poll_slowdown + "× to stay inside it." : ".")
          : "On track: today's projected use fits the allowance.";
    // Paused: the org's admin may have raised the limit; one `GET limits` from the reserve.
    let recheck = null;
    if (q.paused) {
      recheck = h("button", { type: "button", class: "btn", id: "quota-recheck" }, "I raised the limit: check now");
      recheck.addEventListener("click", () =>
        CS.busy(recheck, async () => {
          const after = await CS.api("POST", CS.conn("/quota/recheck"));
          CS.toast(after.paused ? "Still paused: the org's limit is unchanged." : "The raised limit is in force: work resumes.");
          CS.render();
        })
      );
    }
    return h(
      "div",
      {},
      h("section", { class: "card", id: "quota-today" },
        h("div", { class: "card-head" }, h("h1", {}, "API calls today"), CS.badge(q.paused ? "Paused" : tone === "ok" ? "On track" : "Watch", tone)),
        h("p", { class: "big" }, CS.num(q.crmsync_calls_today), h("span", { class: "muted small" }, " of " + (allowance ? CS.num(allowance) : "–") + " allowed (" + Math.round(q.share * 100) + "% of the org's daily limit)")),
        h("div", { class: "meter " + tone, role: "meter", "aria-valuemin": 0, "aria-valuemax": allowance || 1, "aria-valuenow": q.crmsync_calls_today, "aria-label": "Calls used today" }, fill),
        h("p", { class: "alert " + tone, id: "quota-verdict" }, verdict),
        recheck ? h("div", { class: "actions" }, recheck) : null),
      h("div", { class: "grid" },
        CS.card("Projection", h("dl", { class: "facts" },
          h("dt", {}, "Projected today"), h("dd", { id: "quota-projection" }, CS.num(q.projected_day_calls) + " calls"),
          h("dt", {}, "Rate"), h("dd", {}, (q.calls_per_hour || 0).toFixed(1) + " calls an hour"),
          h("dt", {}, "Poll slowdown"), h("dd", {}, q.poll_slowdown > 1 ? q.poll_slowdown + "×" : "none"),
          h("dt", {}, "Remaining"), h("dd", {}, CS.num(q.crmsync_remaining)))),
        CS.card("The org", h("dl", { class: "facts" },
          h("dt", {}, "Org calls today"), h("dd", {}, q.org_max ? CS.num(q.org_used) + " of " + CS.num(q.org_max) : "not seen yet"),
          h("dt", {}, "App quota"), h("dd", {}, q.app_max ? CS.num(q.app_used) + " of " + CS.num(q.app_max) : "none set"),
          h("dt", {}, "Reserve for probes"), h("dd", {}, CS.num(q.probe_reserve) + " calls"),
          h("dt", {}, "Limit last read"), h("dd", {}, CS.when(q.limit_seen_at)),
          h("dt", {}, "Day (UTC)"), h("dd", {}, q.day))))
    );
  };
})();
