// The Gradual dashboard: polls /api/dashboard and draws each task. Plain
// DOM calls and no framework or build step, so the binary can serve it as
// is. Every text from the chain goes in through textContent, never as HTML:
// task names and addresses are chosen by whoever creates the accounts.
// Figures carry their raw value in data-value, for scripts and tests.
"use strict";

const POLL_MS = 1000;
const LAMPORTS_PER_SOL = 1_000_000_000;
const COLOURS = ["#2f5bd3", "#1f9d6b", "#d97706", "#9b51e0", "#0e9fb5", "#c2410c", "#4d7c0f", "#be185d",
  "#475569", "#a16207", "#0369a1", "#15803d", "#7c3aed", "#b91c1c", "#0f766e", "#6d28d9", "#92400e",
  "#1e40af", "#166534", "#9f1239"];

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attributes, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  for (const child of children.flat(Infinity)) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function sol(lamports) {
  if (lamports === null || lamports === undefined) return "–";
  return (Number(lamports) / LAMPORTS_PER_SOL).toLocaleString("en-US", { maximumFractionDigits: 4 }) + " SOL";
}

// A token amount as spl-token shows it: the raw integer with the mint's decimals, no trailing zeros.
function tokenAmount(raw, decimals) {
  const digits = BigInt(Math.trunc(Number(raw))).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}

// How a task's amounts read: its bounty's (lamports or its mint's units) and its stake's.
function amounts(task) {
  if (!task.mint) return { bounty: sol, stake: sol };
  const token = (raw) => (raw === null || raw === undefined ? "–" : `${tokenAmount(raw, task.decimals)} ${short(task.mint)}`);
  return { bounty: token, stake: task.stake_in_tokens ? token : sol };
}

function count(value) {
  return value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US");
}

function short(address) {
  return address.slice(0, 4) + "…" + address.slice(-4);
}

// A figure: its label, its shown text, and its raw value for scripts.
function figure(label, field, value, format) {
  return el("div", {}, el("dt", {}, label), el("dd", { "data-field": field, "data-value": value ?? "" }, format(value)));
}

function cell(field, value, text, extra) {
  return el("td", Object.assign({ "data-field": field, "data-value": value ?? "" }, extra || {}), text ?? count(value));
}

function timeline(task) {
  const view = task.timeline;
  if (!view) return el("p", { "data-field": "timeline" }, "The task's first round has not started.");
  const span = Math.max(1, view.round_end - view.round_start);
  const place = (slot) => (100 * (slot - view.round_start)) / span;
  const lanes = view.windows.map((window) => {
    const open = task.slot >= window.start && task.slot < window.end;
    const style = `left:${place(window.start)}%;width:${Math.max(0.5, place(window.end) - place(window.start))}%`;
    return el("div", { class: "lane" },
      el("div", { class: open ? "window open" : "window", style, "data-window": window.name,
        "data-start": window.start, "data-end": window.end, title: `${window.name}: slots ${window.start}–${window.end - 1}` },
        window.name));
  });
  const now = el("div", { class: "now", style: `left:${place(task.slot)}%`, title: `slot ${task.slot}` });
  return el("div", {},
    el("div", { class: "timeline", "data-field": "timeline", "data-value": task.slot }, lanes, now),
    el("div", { class: "timeline-scale" },
      el("span", {}, `round ${task.round} starts at slot ${view.round_start}`),
      el("span", {}, `slot ${task.slot}`),
      el("span", {}, `ends at slot ${view.round_end}`)));
}

function roundsTable(task) {
  const { bounty, stake } = amounts(task);
  const head = el("tr", {}, ["round", "proofs", "revealed", "audited", "slashed", "open audits", "list",
    "list total", "stake for", "stake against", "voters", "paid nodes"].map((name) => el("th", {}, name)));
  const rows = task.rounds.map((round) => {
    const list = round.list || {};
    return el("tr", { "data-round": round.round },
      cell("round", round.round),
      cell("committed", round.committed),
      cell("revealed", round.revealed),
      cell("audited", round.audited),
      cell("excluded", round.excluded, null, { title: round.excluded_nodes.join("\n") }),
      cell("open_audits", round.open_audit_count),
      cell("list_status", list.status, list.status ?? "–", { class: list.status ? `status-${list.status}` : "" }),
      cell("list_total", list.total, bounty(list.total)),
      cell("valid_weight", list.valid_weight, stake(list.valid_weight)),
      cell("invalid_weight", list.invalid_weight, stake(list.invalid_weight)),
      cell("voter_count", list.voter_count, count(list.voter_count)),
      cell("paid_nodes", round.rewards ? round.rewards.paid_nodes : null));
  });
  return el("div", { class: "scroll" }, el("table", { "data-table": "rounds" }, el("thead", {}, head), el("tbody", {}, rows)));
}

// Every audit of the rounds shown: from the ledger when the server reads it
// (resolved ones too, with each vote), else the open ones from their accounts.
function auditsTable(task) {
  const { stake } = amounts(task);
  const audits = task.rounds.flatMap((round) => (round.audits && round.audits.length ? round.audits : round.open_audits)
    .map((audit) => Object.assign({ round: round.round, status: "open" }, audit)));
  if (!audits.length) return el("p", { "data-field": "audits_none" }, "No audit in the rounds shown.");
  const head = el("tr", {}, ["round", "against", "raised by", "why", "status", "seats upholding", "seats rejecting",
    "voters", "votes", "slashed"].map((name) => el("th", {}, name)));
  const rows = audits.map((audit) => {
    const votes = audit.votes || [];
    const why = audit.raised ? audit.raised.reason_text || audit.raised.reason : null;
    return el("tr", { "data-audit-round": audit.round, "data-target": audit.target, class: audit.status },
      cell("round", audit.round),
      el("td", { class: "node", title: audit.target }, short(audit.target)),
      el("td", { class: "node", title: audit.raiser }, short(audit.raiser)),
      cell("reason", why, why ?? "–"),
      cell("status", audit.status, audit.status),
      cell("invalid_weight", audit.invalid_weight),
      cell("valid_weight", audit.valid_weight),
      cell("voter_count", audit.voter_count),
      cell("votes", votes.length, votes.map((vote) => `${short(vote.voter)} ${vote.valid ? "valid" : "invalid"} ×${vote.seats}`)
        .join(", ") || "–"),
      cell("slashed", audit.slashed ?? null, audit.slashed === undefined ? "–" : stake(audit.slashed)));
  });
  return el("div", { class: "scroll" }, el("table", { "data-table": "audits" }, el("thead", {}, head), el("tbody", {}, rows)));
}

// Nodes named in any round's rewards, in the order they first appear.
function rewardedNodes(task) {
  const nodes = [];
  for (const round of task.rounds) {
    for (const paid of (round.rewards && round.rewards.top) || []) {
      if (!nodes.includes(paid.node)) nodes.push(paid.node);
    }
  }
  return nodes;
}

function rewardsChart(task, nodes) {
  const { bounty } = amounts(task);
  const rounds = [...task.rounds].reverse();
  const width = 720, height = 220, left = 64, bottom = 24, top = 8;
  const highest = Math.max(1, ...rounds.map((round) => (round.rewards ? round.rewards.total : 0)));
  const slot = (width - left) / Math.max(1, rounds.length);
  const scale = (height - top - bottom) / highest;
  const bars = rounds.map((round, index) => {
    const x = left + index * slot + slot * 0.15;
    let y = height - bottom;
    const pieces = ((round.rewards && round.rewards.top) || []).map((paid) => {
      const tall = paid.amount * scale;
      y -= tall;
      return svg("rect", { x, y, width: slot * 0.7, height: tall, fill: COLOURS[nodes.indexOf(paid.node) % COLOURS.length],
        "data-round": round.round, "data-node": paid.node, "data-value": paid.amount },
        svg("title", {}, `round ${round.round}: ${short(paid.node)} ${bounty(paid.amount)}`));
    });
    return [pieces, svg("text", { x: x + slot * 0.35, y: height - 8, "text-anchor": "middle" }, `r${round.round}`)];
  });
  const axis = [svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, stroke: "#d8dde6" }),
    svg("text", { x: left - 6, y: top + 10, "text-anchor": "end" }, bounty(highest)),
    svg("text", { x: left - 6, y: height - bottom, "text-anchor": "end" }, "0")];
  const legend = el("div", { class: "legend" }, nodes.map((node, index) =>
    el("span", { style: `--swatch:${COLOURS[index % COLOURS.length]}`, title: node }, short(node))));
  return el("div", {},
    svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "data-chart": "rewards",
      "aria-label": "rewards per node per round" }, axis, bars),
    legend);
}

function rewardsTable(task, nodes) {
  const { bounty } = amounts(task);
  const rounds = task.rounds;
  const head = el("tr", {}, el("th", {}, "node"), rounds.map((round) => el("th", {}, `round ${round.round}`)));
  const rows = nodes.map((node) => el("tr", { "data-node": node },
    el("td", { class: "node", title: node }, short(node)),
    rounds.map((round) => {
      const paid = round.rewards && round.rewards.top.find((entry) => entry.node === node);
      return el("td", { "data-reward-round": round.round, "data-value": paid ? paid.amount : "" }, paid ? bounty(paid.amount) : "–");
    })));
  const more = rounds.some((round) => round.rewards && round.rewards.paid_nodes > round.rewards.top.length)
    ? el("p", {}, "Only the most paid nodes of each round are named.") : null;
  return el("div", { class: "scroll" }, el("table", { "data-table": "rewards" }, el("thead", {}, head), el("tbody", {}, rows)), more);
}

function ownSection(own, task) {
  const { bounty, stake } = amounts(task);
  const alerts = own.alerts.length
    ? own.alerts.map((alert) => el("li", { class: "alert" }, alert))
    : [el("li", { class: "none" }, "Nothing needs you.")];
  if (!own.staked) {
    return el("div", { class: "own", "data-own": own.node }, el("h3", {}, "Your node"),
      el("p", { class: "address" }, own.node), el("ul", { class: "alerts" }, alerts));
  }
  const head = el("tr", {}, ["round", "proof", "earned", "claimed", "lost"].map((name) => el("th", {}, name)));
  const rows = own.rounds.map((round) => el("tr", { "data-own-round": round.round },
    cell("round", round.round),
    cell("proof", round.excluded ? "excluded" : round.revealed ? "revealed" : round.submitted ? "committed" : "none",
      round.excluded ? "excluded" : round.revealed ? "revealed" : round.submitted ? "committed" : "–"),
    cell("earned", round.earned, bounty(round.earned)),
    cell("claimed", round.claimed, round.claimed ? "yes" : "–"),
    cell("lost", round.lost, round.lost === null ? "unknown" : round.lost ? stake(round.lost) : "–",
      { class: round.lost !== 0 ? "lost" : "", title: round.lost === null ? "slashed before this dashboard started" : null })));
  return el("div", { class: "own", "data-own": own.node },
    el("h3", {}, "Your node"),
    el("p", { class: "address" }, own.node),
    el("dl", { class: "figures" },
      figure("stake", "own_stake", own.stake, stake),
      figure("to claim", "own_pending", own.pending, bounty),
      figure("claimed since the node started", "own_claimed_total", own.claimed_total, bounty),
      figure("slashed in all", "own_total_slashed", own.total_slashed, stake),
      figure("open audits against it", "own_open_audits", own.open_audits, count)),
    el("ul", { class: "alerts" }, alerts),
    el("div", { class: "scroll" }, el("table", { "data-table": "own" }, el("thead", {}, head), el("tbody", {}, rows))));
}

// Older than this, a task's data is flagged: the node cannot read the chain.
const STALE_MS = 10000;

function staleBanner(task, now) {
  const age = Math.max(0, Math.round((now - task.read_at) / 1000));
  return now - task.read_at > STALE_MS
    ? el("p", { class: "banner stale", "data-stale": age }, `data ${age} s old: the chain has not been read since`)
    : null;
}

// A token task's mint, and what its authorities can do to the task's tokens.
function mintSection(task) {
  if (!task.mint) return null;
  const warnings = (task.mint_warnings || []).map((warning) => el("li", { class: "alert" }, warning));
  return el("div", { class: "mint", "data-field": "mint", "data-value": task.mint },
    el("p", { class: "address" }, `paid in mint ${task.mint} (${task.decimals} decimals); nodes stake `,
      task.stake_in_tokens ? "the mint" : "SOL"),
    warnings.length ? el("ul", { class: "alerts", "data-field": "mint_warnings" }, warnings) : null);
}

function taskSection(task, now) {
  const nodes = rewardedNodes(task);
  const { bounty, stake } = amounts(task);
  return el("section", { class: "task", "data-task": task.task },
    el("h2", { "data-field": "name", "data-value": task.name }, task.name || "(unnamed task)"),
    staleBanner(task, now),
    el("p", { class: "address" }, task.task),
    mintSection(task),
    el("dl", { class: "figures" },
      figure("slot", "slot", task.slot, count),
      figure("round", "round", task.round, count),
      figure("bounty pool", "bounty_pool", task.bounty_pool, bounty),
      figure("bounty per round", "bounty_per_round", task.bounty_per_round, bounty),
      figure("nodes", "node_count", task.node_count, count),
      figure("total stake", "total_stake", task.total_stake, stake),
      figure("state", "active", task.active, (active) => (active ? "active" : "paused"))),
    task.own ? ownSection(task.own, task) : null,
    el("h3", {}, "This round"), timeline(task),
    el("h3", {}, "Rounds"), roundsTable(task),
    el("h3", {}, "Audits and their votes"), auditsTable(task),
    el("h3", {}, "Rewards per node per round"), rewardsChart(task, nodes), rewardsTable(task, nodes));
}

async function poll() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("api/dashboard", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const board = await response.json();
    document.getElementById("tasks").replaceChildren(...board.tasks.map((task) => taskSection(task, board.now)));
    const oldest = Math.min(...board.tasks.map((task) => task.read_at));
    const stale = board.tasks.length && board.now - oldest > STALE_MS;
    status.textContent = !board.tasks.length ? "reading the chain…"
      : stale ? `data ${Math.round((board.now - oldest) / 1000)} s old`
        : `data read ${new Date(oldest).toLocaleTimeString()}`;
    status.className = stale ? "stale" : "";
  } catch (error) {
    status.textContent = `cannot reach the node: ${error.message}`;
    status.className = "stale";
  }
  setTimeout(poll, POLL_MS);
}

poll();
