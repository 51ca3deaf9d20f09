// The dashboard: the release calendar, releases by state, deployments with their waves,
// Early Life Support against its baselines, and delivery metrics; kept live from the feed.

import { Api, Unauthorised } from "./api.js";
import { daysChart, metricChart, timeline } from "./charts.js";
import { duration, h, show, when } from "./dom.js";
import { DEPLOY_TYPES, ELS_TYPES, FINISHED, Folded, limitOf, perPeriod } from "./fold.js";
import { follow } from "./sse.js";

const STATES = [
  "planned", "package_built", "validation_failed", "validated", "rejected", "approved",
  "available", "deployed", "in_early_life_support", "ready_for_review", "closed", "cancelled",
];
const KEY = "ferry.dashboard.token";

let api = null;
let feeds = null;
let releases = new Map(); // release id → summary, to name what the feed speaks of
let proposals = []; // release-svc's pending proposals, as its API lists them
const elsewhere = new Map(); // other services' pending proposals, as the feed tells them
let folded = new Folded(); // deployments and cases, as the feed (of the team chosen) tells them

// --- The token: from the URL's fragment (never sent to a server), or pasted ------------

function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get("token");
  if (given) {
    sessionStorage.setItem(KEY, given);
    // Out of the address bar, the history and any bookmark.
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY);
}

function askForToken(why) {
  document.getElementById("token-form").hidden = false;
  document.getElementById("forget").hidden = true;
  say(why);
}

function say(text) {
  const message = document.getElementById("message");
  message.textContent = text || "";
  message.hidden = !text;
}

function start(token) {
  feeds?.abort();
  api = new Api(token);
  document.getElementById("token-form").hidden = true;
  document.getElementById("forget").hidden = false;
  say("");
  feeds = new AbortController();
  refreshTeams();
  refreshAll().then(() => listen(token, feeds.signal));
}

/** `&team=…` for the team chosen, to narrow what the lists and the feed show; nothing for
 * "every team you see" (the server's default: a team's member sees its teams'). */
function teamParam() {
  const team = document.getElementById("team").value;
  return team ? `&team=${encodeURIComponent(team)}` : "";
}

async function guarded(what, load) {
  try {
    await load();
  } catch (error) {
    if (error instanceof Unauthorised) {
      feeds?.abort();
      askForToken(`The token was refused (${error.message}); paste another.`);
    } else {
      say(`Could not load ${what}: ${error.message}`);
    }
  }
}

// --- Reading the API ------------------------------------------------------------------

async function refreshAll() {
  await Promise.all([refreshReleases(), refreshCalendar(), refreshMetrics(), refreshProposals(),
    refreshActions(), refreshInbox()]);
}

const refreshReleases = () => guarded("the releases", async () => {
  const items = await api.all(`/releases?limit=200${teamParam()}`);
  releases = new Map(items.map((r) => [r.release_id, r]));
  renderReleases(items);
  renderDeployments();
  renderCases();
});

const refreshCalendar = () => guarded("the calendar", async () => {
  const since = new Date(Date.now() - 7 * 86400e3).toISOString();
  const [windows, freezes] = await Promise.all([
    api.all(`/schedule?limit=200&from=${encodeURIComponent(since)}${teamParam()}`, 10),
    api.all(`/freezes?limit=200&from=${encodeURIComponent(since)}`, 5),
  ]);
  renderCalendar(windows, freezes);
});

const refreshTeams = () => guarded("the teams", async () => {
  const select = document.getElementById("team");
  const chosen = select.value;
  const teams = await api.get("/teams");
  select.replaceChildren(
    h("option", { value: "" }, "every team you see"),
    ...teams.map((t) => h("option", { value: t.name }, t.name)),
  );
  select.value = teams.some((t) => t.name === chosen) ? chosen : "";
});

const refreshActions = () => guarded("the improvement actions", async () => {
  const [open, started] = await Promise.all(["open", "in_progress"].map((state) =>
    api.all(`/improvement-actions?state=${state}&limit=200${teamParam()}`, 5)));
  const byDue = (a, b) => (a.due || "9999").localeCompare(b.due || "9999");
  renderActions([...open, ...started].sort(byDue));
});

const refreshInbox = () => guarded("your notifications", async () => {
  renderInbox((await api.get("/notifications?limit=20")).items);
});

async function markRead(id, how = "read") {
  await guarded("the notification", () => api.post(`/notifications/${id}/${how}`));
  refreshInbox();
}

const refreshProposals = () => guarded("the governance proposals", async () => {
  proposals = await api.all("/proposals?state=pending&limit=200", 5);
  renderProposals();
});

const refreshMetrics = () => guarded("the delivery metrics", async () => {
  const days = document.getElementById("metrics-days").value;
  renderMetrics(await api.get(`/delivery-metrics?days=${days}`));
});

/** Run `work` once, `ms` after the last of a burst of calls. */
function debounced(work, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(work, ms);
  };
}

const releasesChanged = debounced(() => {
  refreshReleases(); refreshCalendar(); refreshActions(); refreshInbox();
}, 300);
const proposalsChanged = debounced(refreshProposals, 300);

const GOVERNANCE = ["GovernanceChangeProposed", "GovernanceChangeApproved", "GovernanceChangeRejected"];

/** A proposal event from the feed: release-svc's are read again from its API; those of the
 * other services (deploy-svc's production environments) are kept as the feed tells them. */
function onProposal(envelope) {
  if (String(envelope.source).includes("release-svc")) {
    proposalsChanged();
    return;
  }
  const data = envelope.data;
  if (envelope.type === "GovernanceChangeProposed") {
    elsewhere.set(data.proposal_id, { id: data.proposal_id, kind: data.kind, subject: data.subject,
      proposed_by: data.proposed_by, reason: data.reason, source: envelope.source });
  } else {
    elsewhere.delete(data.proposal_id);
  }
  renderProposals();
}
// release-svc learns of deployments from the same topic: give its consumer a moment (its
// ReleaseDeployed says exactly when it has counted a completed one).
const metricsSoon = debounced(refreshMetrics, 1000);
const metricsLater = debounced(refreshMetrics, 5000);
const deploymentsEnded = () => { metricsSoon(); metricsLater(); };
const rendering = debounced(() => { renderDeployments(); renderCases(); }, 50);

// --- The feed -------------------------------------------------------------------------

function listen(token, signal) {
  const live = document.getElementById("live");
  const states = new Map();
  const onState = (name) => (state, detail) => {
    states.set(name, state);
    const all = [...states.values()];
    const shown = all.includes("error") ? "error" : all.includes("connecting") ? "connecting" : "live";
    live.dataset.state = shown;
    live.textContent = shown === "live" ? "live" : shown;
    live.title = detail || "the event feed";
  };
  const typed = [...DEPLOY_TYPES, ...ELS_TYPES].map((t) => `type=${t}`).join("&");
  const onError = (error) => {
    if (error instanceof Unauthorised) askForToken("The feed refused the token; paste another.");
  };
  // Deployments and ELS cases from the beginning, then live; the rest only from now on.
  // Reading the whole history is an auditor's right: for others, from now on.
  const team = teamParam();
  const followHistory = (start) => follow(`/events?from=${start}&${typed}${team}`, {
    token, signal, onState: onState("history"),
    onEvent: (message) => {
      const envelope = JSON.parse(message.data);
      if (folded.apply(envelope)) rendering();
      if (["DeploymentCompleted", "DeploymentFailed", "DeploymentRolledBack",
        "DeploymentAborted", "UnauthorisedChangeDetected"].includes(envelope.type)) {
        deploymentsEnded();
      }
    },
  });
  followHistory("beginning").catch((error) => {
    if (!(error instanceof Unauthorised && error.status === 403)) return onError(error);
    document.querySelectorAll(".history-note").forEach((note) => { note.hidden = false; });
    return followHistory("now").catch(onError);
  });
  const now = onState("now");
  follow(`/events?from=now${team}`, {
    token, signal,
    onState: (state, detail) => {
      now(state, detail);
      // What changed while it was away is not replayed: read the lists again instead.
      if (state === "live") releasesChanged();
    },
    onEvent: (message) => {
      const envelope = JSON.parse(message.data);
      if (GOVERNANCE.includes(envelope.type)) {
        onProposal(envelope);
      } else if (!DEPLOY_TYPES.includes(envelope.type) && !ELS_TYPES.includes(envelope.type)) {
        releasesChanged();
      }
      if (envelope.type === "ReleaseDeployed") metricsSoon();
    },
  }).catch(onError);
}

// --- Rendering ------------------------------------------------------------------------

function releaseName(id) {
  const r = releases.get(id);
  return r ? `${r.identifier || r.name} ${r.name} ${r.version}` : `release ${String(id).slice(0, 8)}`;
}

function renderCalendar(windows, freezes) {
  const root = document.getElementById("calendar");
  show(root.querySelector(".calendar-chart"),
    windows.length || freezes.length ? timeline(windows, freezes) : h("p", { class: "empty" },
      "No deployment window or freeze from a week ago on."));
  show(root.querySelector(".windows"),
    h("tr", {}, ["Opens", "Closes", "Release", "Environment", "Status", "Risk", "Conflicts",
      "Not ready"].map((c) => h("th", {}, c))),
    windows.map((w) => h("tr", { "data-release": w.identifier },
      h("td", {}, when(w.start)), h("td", {}, when(w.end)),
      h("td", {}, `${w.identifier} ${w.name}`), h("td", {}, w.environment),
      h("td", {}, h("span", { class: "badge" }, w.status)),
      h("td", { class: "risk" }, w.risk ? h("span", { class: `badge risk-${w.risk}` }, w.risk) : "not assessed"),
      h("td", {}, w.conflicts.map((c) => h("span", { class: "badge conflict", title: c.detail },
        c.kind))),
      h("td", { class: "readiness" }, w.readiness_open.map((item) =>
        h("span", { class: "badge not-ready", title: "to confirm before production" },
          item.replaceAll("_", " ")))))));
  show(root.querySelector(".freezes"),
    h("tr", {}, ["From", "To", "Reason", "Scope"].map((c) => h("th", {}, c))),
    freezes.map((f) => h("tr", {},
      h("td", {}, when(f.start)), h("td", {}, when(f.end)), h("td", {}, f.reason),
      h("td", {}, [...f.environments, ...f.services].join(", ") || "everything"))));
}

function renderProposals() {
  const all = [...proposals, ...elsewhere.values()];
  show("#governance .proposals", all.length ? [
    h("tr", {}, ["Kind", "Changes", "Proposed by", "Reason", "Proposal"].map((c) => h("th", {}, c))),
    all.map((p) => h("tr", { "data-proposal": p.id, "data-kind": p.kind },
      h("td", {}, h("span", { class: "badge" }, p.kind)), h("td", {}, p.subject),
      h("td", {}, p.proposed_by), h("td", {}, p.reason), h("td", {}, h("code", {}, p.id)))),
  ] : h("tr", {}, h("td", { class: "empty" }, "No proposal awaits a decision.")));
}

function renderReleases(items) {
  const groups = STATES.map((state) => [state, items.filter((r) => r.status === state)])
    .filter(([, rs]) => rs.length);
  show("#releases .states", groups.length ? groups.map(([state, rs]) =>
    h("div", { class: "state-group", "data-state": state },
      h("h3", {}, h("span", {}, state.replaceAll("_", " ")), h("span", { class: "count" }, rs.length)),
      h("ul", {}, rs.map((r) => h("li", { "data-release": r.identifier || r.release_id },
        `${r.identifier || ""} ${r.name} ${r.version}`, " ",
        h("small", {}, `(${r.planned_start} – ${r.planned_end}, ${r.release_manager})`))))))
    : h("p", { class: "empty" }, "No release yet."));
}

function renderInbox(items) {
  const unread = items.filter((n) => !n.read_at).length;
  show("#inbox .summary", unread ? h("span", { class: "badge overdue" }, `${unread} new`) : null);
  show("#inbox .notification-list", items.length ? items.map((n) =>
    h("li", { "data-notification": n.notification_id, class: n.read_at ? "read" : "unread" },
      h("strong", {}, n.subject), " ", h("small", {}, when(n.sent_at)),
      h("p", {}, n.body),
      n.acknowledge && !n.acknowledged_at
        ? h("button", { type: "button", class: "acknowledge",
          onclick: () => markRead(n.notification_id, "acknowledgement") }, "Acknowledge")
        : null,
      n.read_at ? null : h("button", { type: "button", onclick: () => markRead(n.notification_id) },
        "Mark read")))
    : h("li", { class: "empty" }, "Nothing for you yet."));
}

function renderActions(items) {
  const overdue = items.filter((a) => a.overdue).length;
  show("#actions .summary", items.length ? [
    h("span", { class: "badge" }, `${items.length} unfinished`),
    overdue ? [" ", h("span", { class: "badge overdue" }, `${overdue} overdue`)] : null,
  ] : null);
  show("#actions .action-list", items.length ? [
    h("tr", {}, ["Due", "Action", "Owner", "Release", "State"].map((c) => h("th", {}, c))),
    items.map((a) => h("tr", { "data-action": a.action_id, class: a.overdue ? "overdue" : null },
      h("td", {}, a.due || "–",
        a.overdue ? [" ", h("span", { class: "badge overdue" }, "overdue")] : null),
      h("td", {}, a.description), h("td", {}, a.owner || "nobody yet"),
      h("td", {}, `${a.release_identifier} ${a.release_name}`),
      h("td", {}, h("span", { class: "badge" }, a.state.replaceAll("_", " "))))),
  ] : h("tr", {}, h("td", { class: "empty" }, "No improvement action is open.")));
}

function paused(d) {
  if (d.awaitingWindow) return `${d.state}, paused: its window closed`;
  if (d.awaitingStep) return `${d.state}, waiting for: ${d.awaitingStep}`;
  return d.paused ? `${d.state}, paused` : d.state;
}

function renderDeployments() {
  const all = [...folded.deployments.values()];
  const running = all.filter((d) => !FINISHED.has(d.state));
  const recent = all.filter((d) => FINISHED.has(d.state))
    .sort((a, b) => String(b.updated).localeCompare(String(a.updated))).slice(0, 5);
  const card = (d) => {
    const total = d.waves.reduce((n, w) => n + w.targets.length, 0);
    const done = d.waves.reduce((n, w) => n + w.deployed.size, 0);
    return h("article", { class: "deployment", "data-deployment": d.id, "data-state": d.state },
      h("header", {},
        h("strong", {}, releaseName(d.releaseId)), h("span", {}, `→ ${d.environment}`),
        h("span", { class: `badge ${d.state}` }, paused(d)),
        h("span", { class: "progress" }, `${done}/${total} targets`),
        d.reason ? h("small", {}, d.reason) : null),
      d.waves.map((w, i) => {
        const n = Math.max(w.targets.length, 1);
        return h("div", { class: "wave", "data-wave": i, "data-state": w.state,
          "data-deployed": w.deployed.size, "data-targets": w.targets.length },
        h("span", {}, `wave ${i + 1}`),
        h("div", { class: "bar", title: w.targets.join(", ") },
          segment("done", (w.deployed.size - w.rolledBack.size) / n),
          segment("back", w.rolledBack.size / n),
          segment("fail", w.failed.size / n)),
        h("span", { class: `badge ${w.state}` }, `${w.deployed.size}/${w.targets.length} ${w.state}`));
      }));
  };
  show("#deployments .deployment-list",
    running.length ? running.map(card) : h("p", { class: "empty" }, "No deployment in progress."),
    recent.length ? [h("h3", {}, "Recently finished"), recent.map(card)] : null);
  const drift = [...folded.drift.values()];
  show("#deployments .drift", drift.length ? [
    h("h3", {}, `Unauthorised changes (${drift.length})`),
    h("ul", {}, drift.map((c) => h("li", { "data-target": `${c.environment}/${c.target}` },
      h("span", { class: "badge conflict" }, "unauthorised"),
      ` ${c.environment}/${c.target} runs ${c.found ?? "nothing"}, `
        + `where Ferry deployed ${c.expected ?? "nothing"} (${when(c.detectedAt)})`))),
  ] : null);
}

function segment(cls, share) {
  const part = h("span", { class: cls });
  part.style.width = `${Math.max(0, share) * 100}%`; // CSSOM: allowed by the page's CSP
  return part;
}

function renderCases() {
  const all = [...folded.cases.values()]
    .sort((a, b) => (a.state === "exited") - (b.state === "exited")
      || String(b.updated).localeCompare(String(a.updated)));
  show("#els .els-list", all.length ? all.slice(0, 10).map((c) =>
    h("article", { class: "els-case", "data-case": c.id, "data-state": c.state },
      h("header", {},
        h("strong", {}, releaseName(c.releaseId)), h("span", {}, `in ${c.environment}`),
        h("span", { class: `badge ${c.state}` }, c.state),
        c.plannedEnd ? h("small", {}, `planned end ${when(c.plannedEnd)}`) : null),
      c.criteria.length ? h("div", { class: "criteria" }, c.criteria.map((criterion) => {
        const points = perPeriod(criterion, c.observations.get(criterion.metric) || new Map());
        const limit = limitOf(criterion);
        return h("figure", { "data-metric": criterion.metric },
          metricChart(points, { baseline: criterion.baseline, limit,
            direction: criterion.direction, label: `${criterion.metric} per ${criterion.period}` }),
          h("figcaption", {}, `${criterion.metric} (${criterion.aggregate} per ${criterion.period}):`
            + ` baseline ${criterion.baseline}, ${criterion.direction === "at_least" ? "at least" : "at most"}`
            + ` ${Number(limit.toPrecision(4))}`));
      })) : h("p", { class: "empty" }, "No criteria agreed yet.")))
    : h("p", { class: "empty" }, "No Early Life Support case."));
}

function renderMetrics(m) {
  const tile = (key, label, value, detail) => h("div", { class: "tile", "data-metric": key },
    h("div", { class: "label" }, label), h("div", { class: "value" }, value),
    h("div", { class: "detail" }, detail));
  const f = m.deployment_frequency, lead = m.lead_time, cfr = m.change_failure_rate;
  const b = m.benefits;
  const restore = m.time_to_restore;
  show("#metrics .tiles",
    tile("deployment_frequency", "Deployment frequency", `${f.per_week.toFixed(1)} / week`,
      `${f.deployments} completed in ${m.days} days`),
    tile("lead_time", "Lead time, plan to production", duration(lead.median_seconds),
      `median of ${lead.count}; p90 ${duration(lead.p90_seconds)}`),
    tile("change_failure_rate", "Change failure rate",
      cfr.rate === null ? "–" : `${Math.round(cfr.rate * 100)} %`,
      `${cfr.failed} of ${cfr.finished} failed or rolled back`),
    tile("time_to_restore", "Time to restore", duration(restore.median_seconds),
      `median of ${restore.count}; ${restore.unrestored} not restored yet`),
    tile("change_failure_rate_by_risk", "Failure rate by risk",
      Object.entries(m.change_failure_rate_by_risk).map(([level, r]) =>
        `${level} ${r.rate === null ? "–" : `${Math.round(r.rate * 100)} %`}`).join(", ") || "–",
      "of the releases' deployments, by assessed risk"),
    tile("unauthorised_changes", "Unauthorised changes", String(m.unauthorised_changes),
      `found on targets in ${m.days} days`),
    tile("against_plan", "Against plan", `${b.late} late of ${b.releases}`,
      b.median_days_late === null ? "none late" : `median ${b.median_days_late} days late`),
    tile("early_life", "Early life support", `${b.incidents} incidents`,
      `${b.desk_calls} desk calls; ${b.els_overruns} ran past plan`),
    tile("reviews", "Reviews and actions", `${b.reviewed} reviewed`,
      `${b.awaiting_review} awaiting; ${b.actions_done} of ${b.actions} actions done, `
        + `${b.actions_overdue} overdue`));
  show("#metrics .metrics-chart", daysChart(m.by_day),
    h("p", { class: "empty" }, `Environments: ${m.environments.join(", ") || "none marked production yet"}`));
}

// --- Start ----------------------------------------------------------------------------

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = document.getElementById("token").value.trim();
  if (!token) return;
  sessionStorage.setItem(KEY, token);
  document.getElementById("token").value = "";
  start(token);
});
document.getElementById("forget").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  feeds?.abort();
  askForToken("Forgotten. Paste a token to see the dashboard.");
});
document.getElementById("metrics-days").addEventListener("change", refreshMetrics);
// Another team: its releases, calendar and feed, from scratch.
document.getElementById("team").addEventListener("change", () => {
  const token = sessionStorage.getItem(KEY);
  if (!token) return;
  folded = new Folded();
  start(token);
});
// The period ends now, so it moves on even when nothing happens.
setInterval(() => { if (api) refreshMetrics(); }, 60000);
window.addEventListener("hashchange", () => {
  const token = takeToken();
  if (token) start(token);
});

const token = takeToken();
if (token) start(token);
else askForToken("Paste a bearer token (or open /dashboard#token=…) to see the dashboard.");
