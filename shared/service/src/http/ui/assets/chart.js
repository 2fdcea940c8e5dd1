// A small inline SVG bar chart (no library): bars, a dashed limit line, labels, and a
// text summary for screen readers.
(function () {
  "use strict";
  const CS = window.CS;
  const NS = "http://www.w3.org/2000/svg";

  function s(tag, attrs, text) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // opts: {title, labels: [..], values: [..], limit?: number, limitLabel?: string, unit}
  CS.barChart = function (opts) {
    const W = 640, H = 220, left = 44, right = 12, top = 16, bottom = 34;
    const values = opts.values.map((v) => Math.max(0, Number(v) || 0));
    const max = Math.max(1, opts.limit || 0, ...values) * 1.1;
    const plotW = W - left - right, plotH = H - top - bottom;
    const summary =
      opts.title + ": " + opts.labels.map((l, i) => l + " " + values[i] + " " + opts.unit).join(", ") +
      (opts.limit ? "; " + (opts.limitLabel || "limit " + opts.limit) + " " + opts.unit : "");
    const svg = s("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": summary });
    svg.appendChild(s("title", {}, summary));
    for (const f of [0, 0.5, 1]) {
      const v = Math.round((max / 1.1) * f);
      const y = top + plotH - (plotH * v) / max;
      svg.appendChild(s("line", { class: "axis", x1: left, x2: W - right, y1: y, y2: y }));
      svg.appendChild(s("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, CS.num(v)));
    }
    const n = Math.max(values.length, 1);
    const slot = plotW / n, barW = Math.max(3, Math.min(42, slot * 0.7));
    values.forEach((v, i) => {
      const bh = (plotH * v) / max;
      const x = left + slot * i + (slot - barW) / 2;
      const over = opts.limit && v > opts.limit;
      const bar = s("rect", { class: "bar" + (over ? " over" : ""), x, y: top + plotH - bh, width: barW, height: Math.max(bh, 0.5), rx: 2 });
      bar.appendChild(s("title", {}, opts.labels[i] + ": " + CS.num(v) + " " + opts.unit));
      svg.appendChild(bar);
      if (n <= 16 && v > 0) {
        svg.appendChild(s("text", { x: x + barW / 2, y: top + plotH - bh - 4, "text-anchor": "middle" }, CS.num(v)));
      }
      const every = Math.ceil(n / 10);
      if (i % every === 0 || i === n - 1) {
        svg.appendChild(s("text", { x: x + barW / 2, y: H - bottom + 16, "text-anchor": "middle" }, opts.labels[i]));
      }
    });
    if (opts.limit) {
      const y = top + plotH - (plotH * opts.limit) / max;
      svg.appendChild(s("line", { class: "limit", x1: left, x2: W - right, y1: y, y2: y }));
      svg.appendChild(s("text", { x: W - right, y: y - 5, "text-anchor": "end" }, opts.limitLabel || "limit " + CS.num(opts.limit)));
    }
    if (!opts.values.length) {
      svg.appendChild(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "No data yet"));
    }
    return svg;
  };
})();
