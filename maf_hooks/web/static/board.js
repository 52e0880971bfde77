// The live board: fetch the board document (api/board) every few seconds and redraw the tables.
// Others' text (patterns, reasons, agent ids) only ever becomes textContent, never markup.
"use strict";

const REFRESH_MS = 2000;

function cell(row, label, text, className) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.textContent = text === null || text === undefined || text === "" ? "—" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function span(ms) {
  // 95000 -> "1m 35s"; 7200000 -> "2h 0m"
  const seconds = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

function ago(iso, nowMs) {
  if (!iso) return null;
  return `${span(nowMs - Date.parse(iso))} ago`;
}

function when(iso) {
  // "2026-11-02T10:15:00.000Z" -> "2026-11-02 10:15:00Z"
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : null;
}

function fill(sectionId, items, draw) {
  const section = document.getElementById(sectionId);
  const body = section.querySelector("tbody");
  const rows = items.map((item) => {
    const row = document.createElement("tr");
    draw(row, item);
    return row;
  });
  body.replaceChildren(...rows);
  section.querySelector("[data-count]").textContent = `(${items.length})`;
  section.classList.toggle("is-empty", items.length === 0);
}

function draw(board) {
  const now = board.now_ms;
  fill("leases", board.leases, (row, lease) => {
    row.dataset.id = lease.id;
    cell(row, "Pattern", lease.pattern, "mono");
    cell(row, "Agent", lease.agent);
    cell(row, "Mode", lease.mode, `mode mode-${lease.mode}`);
    cell(row, "Reason", lease.reason);
    cell(row, "Time left", span(lease.left_ms), lease.left_ms < 600000 ? "soon" : "");
  });
  if (board.more_leases) {
    document.querySelector("#leases [data-count]").textContent = `(first ${board.leases.length})`;
  }
  fill("escalations", board.escalations, (row, e) => {
    row.dataset.id = e.escalation_id;
    cell(row, "Level", e.current_level, "level");
    cell(row, "Status", e.status);
    cell(row, "Agent", e.agent_id);
    cell(row, "Why", e.reason || e.condition);
    cell(row, "Target", e.target);
    cell(row, "Opened", ago(e.created_at, now));
  });
  fill("agents", board.agents, (row, agent) => {
    row.dataset.id = agent.agent;
    if (agent.stale) row.className = "stale";
    cell(row, "Agent", agent.agent);
    cell(row, "Status", agent.stale ? `stale (no heartbeat in ${board.stale_minutes}m)` : agent.status);
    cell(row, "Leases", agent.active_leases);
    cell(row, "Last heartbeat", agent.last_heartbeat ? ago(agent.last_heartbeat, now) : "never");
  });
  fill("conflicts", board.conflicts, (row, c) => {
    row.dataset.id = c.id;
    cell(row, "When", ago(c.created_at, now));
    cell(row, "Agent", c.agent);
    cell(row, "Path", c.path, "mono");
    cell(row, "Holder", c.holder);
    cell(row, "Operation", c.operation);
    cell(row, "Outcome", c.status, `outcome outcome-${c.status}`);
  });
  fill("overrides", board.overrides, (row, c) => {
    row.dataset.id = c.id;
    cell(row, "When", ago(c.created_at, now));
    cell(row, "Agent", c.agent);
    cell(row, "Path", c.path, "mono");
    cell(row, "Holder", c.holder);
    cell(row, "Reason", c.override_reason);
  });
  const chain = board.audit;
  const state = document.getElementById("state");
  state.textContent = chain.valid
    ? `audit chain valid (${chain.checked} events)`
    : `audit chain BROKEN at event ${chain.first_invalid_id}: ${chain.problem}`;
  state.className = chain.valid ? "state ok" : "state broken";
  document.getElementById("updated").textContent = `last read ${when(board.generated_at)}` +
    (board.backend ? ` from the ${board.backend} store.` : " (no store yet).");
}

function problem(text) {
  const box = document.getElementById("problem");
  box.hidden = !text;
  box.textContent = text || "";
}

let timer = null;
let busy = false;

async function refresh() {
  timer = null;
  if (busy) return;
  busy = true;
  try {
    const response = await fetch("api/board", {credentials: "same-origin", cache: "no-store",
                                               headers: {Accept: "application/json"}});
    if (response.status === 401) {
      problem("This board needs its token: open it once as /?token=TOKEN.");
    } else {
      const body = await response.json();
      if (response.ok) {
        draw(body);
        problem(null);
      } else {
        problem(`The store cannot be read: ${body.error}`);
      }
    }
  } catch (error) {
    problem(`The board's server does not answer (${error.message}); trying again.`);
  } finally {
    busy = false;
  }
  schedule();
}

function schedule() {
  if (timer === null && !document.hidden) timer = setTimeout(refresh, REFRESH_MS);
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && timer === null && !busy) refresh();
});
refresh();
