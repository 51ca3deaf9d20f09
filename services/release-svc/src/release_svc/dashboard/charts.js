// Charts drawn as inline SVG: no library, nothing fetched.

import { s, when } from "./dom.js";

const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

/**
 * A metric per period as bars, against its baseline (dashed green) and the limit its
 * tolerance allows (dashed red); bars beyond the limit are red.
 */
export function metricChart(points, { baseline, limit, direction, label }) {
  const width = 300, height = 130, left = 34, bottom = 18, top = 8;
  const top_value = Math.max(baseline, limit, ...points.map((p) => p.value), 1e-9) * 1.15;
  const y = (v) => top + (height - top - bottom) * (1 - v / top_value);
  const slot = Math.min((width - left - 4) / Math.max(points.length, 1), 40);
  const beyond = (v) => (direction === "at_least" ? v < limit : v > limit);
  const bars = points.map((p, i) => s("rect", {
    class: beyond(p.value) ? "value over" : "value",
    x: left + i * slot + slot * 0.15, width: Math.max(slot * 0.7, 1),
    y: y(p.value), height: Math.max(y(0) - y(p.value), 0.5),
    "data-value": p.value,
  }, s("title", {}, `${when(new Date(p.start))}: ${fmt(p.value)}`)));
  const line = (v, cls, text) => [
    s("line", { class: cls, x1: left, x2: width - 4, y1: y(v), y2: y(v) }),
    s("text", { x: 2, y: y(v) + 3 }, fmt(v)),
    s("title", {}, text),
  ];
  return s("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label,
    class: "metric-chart", "data-baseline": baseline, "data-limit": limit,
  },
  s("line", { class: "axis", x1: left, x2: width - 4, y1: y(0), y2: y(0) }),
  ...bars,
  ...line(baseline, "baseline", `baseline ${fmt(baseline)}`),
  ...line(limit, "limit", `limit ${fmt(limit)}`),
  points.length ? null : s("text", { x: left + 8, y: height / 2 }, "no observation yet"),
  s("text", { x: left, y: height - 4 }, points.length ? when(new Date(points[0].start)) : ""));
}

/** Deployment windows per environment on a time line, freezes shaded behind them. */
export function timeline(windows, freezes, now = Date.now()) {
  const environments = [...new Set(windows.map((w) => w.environment))].sort();
  const times = windows.flatMap((w) => [Date.parse(w.start), Date.parse(w.end)]);
  const from = Math.min(now - 2 * 86400e3, ...times);
  const to = Math.max(now + 14 * 86400e3, ...times);
  const width = 900, row = 22, left = 110, top = 16;
  const height = top + row * Math.max(environments.length, 1) + 8;
  const x = (t) => left + ((t - from) / (to - from)) * (width - left - 6);
  const shaded = freezes.map((f) => s("rect", {
    class: "freeze", x: x(Math.max(Date.parse(f.start), from)), y: top,
    width: Math.max(x(Math.min(Date.parse(f.end), to)) - x(Math.max(Date.parse(f.start), from)), 1),
    height: height - top - 8,
  }, s("title", {}, `freeze: ${f.reason} (${when(f.start)} – ${when(f.end)})`)));
  const rows = environments.map((env, i) => [
    s("text", { x: 4, y: top + i * row + 15 }, env),
    ...windows.filter((w) => w.environment === env).map((w) => s("rect", {
      class: w.conflicts.length ? "window conflict" : "window",
      x: x(Date.parse(w.start)), y: top + i * row + 4, rx: 2, height: row - 8,
      width: Math.max(x(Date.parse(w.end)) - x(Date.parse(w.start)), 3),
    }, s("title", {}, `${w.identifier} ${w.name} (${w.status}) ${when(w.start)} – ${when(w.end)}`))),
  ]);
  const ticks = [];
  for (let t = Math.ceil(from / 86400e3) * 86400e3; t <= to; t += 86400e3 * Math.ceil((to - from) / 86400e3 / 10)) {
    ticks.push(s("text", { x: x(t), y: 10 }, new Date(t).toISOString().slice(5, 10)));
  }
  return s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": "deployment windows and freezes" },
  ...shaded, ...ticks, ...rows.flat(),
  s("line", { class: "now", x1: x(now), x2: x(now), y1: top, y2: height - 8 }));
}

/** Deployments that ended each day: completed (green) under failed (red). */
export function daysChart(days) {
  const width = 600, height = 90, bottom = 14;
  const most = Math.max(1, ...days.map((d) => d.completed + d.failed));
  const slot = width / Math.max(days.length, 1);
  const y = (n) => ((height - bottom) * n) / most;
  return s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": "deployments per day" },
  s("line", { class: "axis", x1: 0, x2: width, y1: height - bottom, y2: height - bottom }),
  ...days.flatMap((d, i) => [
    s("rect", { class: "completed", x: i * slot + 1, width: Math.max(slot - 2, 1),
      y: height - bottom - y(d.completed), height: y(d.completed) }),
    s("rect", { class: "failed", x: i * slot + 1, width: Math.max(slot - 2, 1),
      y: height - bottom - y(d.completed) - y(d.failed), height: y(d.failed) }),
    s("title", {}, `${d.day}: ${d.completed} completed, ${d.failed} failed`),
  ]),
  s("text", { x: 0, y: height - 2 }, days.length ? days[0].day : ""),
  s("text", { x: width - 60, y: height - 2 }, days.length ? days[days.length - 1].day : ""));
}
