// Deployments and Early Life Support cases, folded from their events on the feed.

export const DEPLOY_TYPES = [
  "DeploymentScheduled", "DeploymentStarted", "WaveStarted", "TargetDeployed", "TargetFailed",
  "WaveVerified", "DeploymentCompleted", "DeploymentFailed", "RollbackStarted",
  "TargetRolledBack", "DeploymentRolledBack", "DeploymentPaused", "DeploymentResumed",
  "DeploymentAborted", "DeploymentPausedOutsideWindow", "DeploymentWindowOverridden",
  "BackoutStepAwaitingConfirmation", "BackoutStepDone", "UnauthorisedChangeDetected",
  "UnauthorisedChangeCleared",
];
export const ELS_TYPES = [
  "ElsStarted", "ElsCriteriaAgreed", "ElsObservationRecorded", "ElsEscalated",
  "ElsNormalReached", "ElsExtended", "ElsExited",
];
export const FINISHED = new Set(["completed", "failed", "rolled_back", "aborted"]);

/** What the page knows from the feed: deployments and ELS cases by id. */
export class Folded {
  constructor() {
    this.deployments = new Map();
    this.cases = new Map();
    this.drift = new Map();
    this.seen = new Set();
  }

  /** Apply one CloudEvents envelope; false if it was seen before or is of no interest. */
  apply(envelope) {
    if (!envelope || this.seen.has(envelope.id)) return false;
    this.seen.add(envelope.id);
    const data = envelope.data || {};
    if (envelope.type.startsWith("UnauthorisedChange")) {
      const key = `${data.environment}/${data.target}`;
      if (envelope.type === "UnauthorisedChangeDetected") {
        this.drift.set(key, { ...data, detectedAt: envelope.time });
      } else {
        this.drift.delete(key);
      }
      return true;
    }
    if (DEPLOY_TYPES.includes(envelope.type)) {
      this.deployment(envelope.type, data, envelope.time);
      return true;
    }
    if (ELS_TYPES.includes(envelope.type)) {
      this.elsCase(envelope.type, data, envelope.time);
      return true;
    }
    return false;
  }

  deployment(type, data, time) {
    let d = this.deployments.get(data.deployment_id);
    if (!d) {
      d = {
        id: data.deployment_id, releaseId: data.release_id, environment: data.environment,
        version: "", strategy: "", waves: [], state: "scheduled", paused: false,
        awaitingWindow: false, awaitingStep: null, reason: "", scheduledStart: null,
        updated: time,
      };
      this.deployments.set(d.id, d);
    }
    d.updated = time;
    const wave = (index) => {
      while (d.waves.length <= index) d.waves.push(newWave([]));
      return d.waves[index];
    };
    switch (type) {
      case "DeploymentScheduled":
        d.version = data.release_version;
        d.strategy = data.strategy;
        d.scheduledStart = data.scheduled_start;
        data.waves.forEach((w, i) => { wave(i).targets = w.targets; });
        break;
      case "DeploymentStarted": d.state = "running"; break;
      case "WaveStarted": wave(data.wave).state = "running"; break;
      case "TargetDeployed": wave(data.wave).deployed.add(data.target); break;
      case "TargetFailed":
        wave(data.wave).failed.set(data.target, data.reason);
        wave(data.wave).state = "failed";
        break;
      case "WaveVerified": wave(data.wave).state = "verified"; break;
      case "DeploymentCompleted": d.state = "completed"; break;
      case "DeploymentFailed": d.state = "failed"; d.reason = data.reason; break;
      case "RollbackStarted": d.state = "rolling_back"; d.reason = data.reason; break;
      case "TargetRolledBack":
        for (const w of d.waves) if (w.targets.includes(data.target)) w.rolledBack.add(data.target);
        break;
      case "DeploymentRolledBack": d.state = "rolled_back"; break;
      case "DeploymentPaused": d.paused = true; break;
      case "DeploymentResumed": d.paused = false; d.awaitingWindow = false; break;
      case "DeploymentPausedOutsideWindow": d.paused = true; d.awaitingWindow = true; break;
      case "DeploymentWindowOverridden": d.paused = false; d.awaitingWindow = false; break;
      case "BackoutStepAwaitingConfirmation":
        d.paused = true; d.awaitingStep = data.description || `step ${data.step + 1}`; break;
      case "BackoutStepDone": d.paused = false; d.awaitingStep = null; break;
      case "DeploymentAborted": d.state = "aborted"; d.reason = data.reason; break;
    }
  }

  elsCase(type, data, time) {
    let c = this.cases.get(data.case_id);
    if (!c) {
      c = {
        id: data.case_id, releaseId: data.release_id, environment: data.environment,
        state: "active", criteria: [], observations: new Map(), escalations: [],
        startedAt: time, plannedEnd: null, updated: time,
      };
      this.cases.set(c.id, c);
    }
    c.updated = time;
    switch (type) {
      case "ElsStarted":
        c.startedAt = data.started_at || time;
        c.plannedEnd = data.planned_end;
        break;
      case "ElsCriteriaAgreed": c.criteria = data.criteria; break;
      case "ElsObservationRecorded": {
        const seen = c.observations.get(data.metric) || new Map();
        seen.set(data.observation_id, { value: data.value, at: data.observed_at });
        c.observations.set(data.metric, seen);
        break;
      }
      case "ElsEscalated":
        c.escalations.push({ metric: data.metric, at: data.period_start, value: data.value,
          limit: data.limit });
        if (c.state === "active") c.state = "escalated";
        break;
      case "ElsNormalReached": c.state = "normal"; break;
      case "ElsExtended": c.plannedEnd = data.planned_end; break;
      case "ElsExited": c.state = "exited"; break;
    }
  }
}

function newWave(targets) {
  return { targets, state: "pending", deployed: new Set(), failed: new Map(),
    rolledBack: new Set() };
}

const PERIOD_MS = { minute: 60e3, hour: 3600e3, day: 86400e3 };

/** A criterion's observations per period (UTC), aggregated as it says: [{start, value}]. */
export function perPeriod(criterion, observations) {
  const size = PERIOD_MS[criterion.period] || PERIOD_MS.day;
  const buckets = new Map();
  for (const { value, at } of observations.values()) {
    const start = Math.floor(new Date(at).getTime() / size) * size;
    if (!buckets.has(start)) buckets.set(start, []);
    buckets.get(start).push(value);
  }
  const aggregate = {
    sum: (vs) => vs.reduce((a, b) => a + b, 0),
    mean: (vs) => vs.reduce((a, b) => a + b, 0) / vs.length,
    max: (vs) => Math.max(...vs),
  }[criterion.aggregate || "sum"];
  return [...buckets.entries()].sort((a, b) => a[0] - b[0])
    .map(([start, values]) => ({ start, value: aggregate(values) }));
}

/** The worst value that still holds, as els-svc judges it (`evaluation.limit_of`). */
export function limitOf(criterion) {
  const margin = Math.abs(criterion.baseline) * criterion.tolerance;
  return criterion.direction === "at_least" ? criterion.baseline - margin : criterion.baseline + margin;
}
