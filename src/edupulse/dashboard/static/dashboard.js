// edupulse dashboard: draws the charts, and keeps the page live without reloading it.
// When the server-sent event stream reports a change, the page's HTML is fetched again
// and each live region (an element with data-live and an id) takes the new content.
"use strict";

(function () {
  const body = document.body;
  let refreshes = 0;
  let timer = null;
  let running = false;
  let again = false;

  function traces(spec) {
    if (spec.kind === "heatmap") {
      return [{ type: "heatmap", x: spec.x, y: spec.y, z: spec.z, zmin: 0, zmax: 1, colorscale: "Viridis" }];
    }
    if (spec.kind === "hbar") {
      return [{ type: "bar", orientation: "h", x: spec.x, y: spec.y, name: spec.name, marker: { color: "#0b5cad" } }];
    }
    const x = spec.time ? spec.x.map((us) => new Date(us / 1000)) : spec.x;
    const kind = spec.kind === "line" ? { type: "scatter", mode: "lines+markers" } : { type: "bar" };
    return [Object.assign(kind, { x: x, y: spec.y, name: spec.name, marker: { color: "#0b5cad" } })];
  }

  function draw(script) {
    const target = document.getElementById(script.dataset.chart);
    if (!target || typeof Plotly === "undefined") return;
    const spec = JSON.parse(script.textContent);
    const layout = { margin: { t: 10, r: 10, b: 60, l: 60 }, font: { size: 13, color: "#1b1f24" } };
    const value = { title: { text: spec.name || "" }, rangemode: "tozero" };
    if (spec.range) value.range = spec.range;
    const label = { automargin: true, type: spec.time ? "date" : "category" };
    if (spec.kind === "hbar") { layout.xaxis = value; layout.yaxis = label; }
    else if (spec.kind === "heatmap") { layout.xaxis = label; layout.yaxis = label; }
    else { layout.xaxis = label; layout.yaxis = value; }
    Plotly.react(target, traces(spec), layout, { displayModeBar: false, responsive: true });
  }

  function drawAll() {
    document.querySelectorAll("script[data-chart]").forEach(draw);
  }

  function say(text) {
    const state = document.getElementById("live-state");
    if (state) state.textContent = text;
  }

  async function refresh() {
    if (running) { again = true; return; }
    running = true;
    try {
      const response = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) { say("Live updates paused: the page answered " + response.status); return; }
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      fresh.querySelectorAll("[data-live][id]").forEach((node) => {
        const old = document.getElementById(node.id);
        if (!old || old.innerHTML === node.innerHTML) return;
        if (old.tagName === "DETAILS") { node.open = old.open; }
        old.innerHTML = node.innerHTML;
        if (old.dataset.chart) draw(old);
      });
      refreshes += 1;
      body.dataset.refreshes = String(refreshes);
      say("Live: updated " + new Date().toLocaleTimeString());
    } catch (err) {
      say("Live updates paused: " + err);
    } finally {
      running = false;
      if (again) { again = false; schedule(); }
    }
  }

  // Changes are coalesced: a refresh 150 ms after the first, then at most one every
  // 500 ms while they keep coming (a busy course costs the server at most ~2 pages/s per viewer).
  let lastStart = 0;
  function schedule() {
    if (timer !== null) return;
    const wait = Math.max(150, lastStart + 500 - Date.now());
    timer = setTimeout(() => { timer = null; lastStart = Date.now(); refresh(); }, wait);
  }

  function listen() {
    const url = body.dataset.stream;
    if (!url || typeof EventSource === "undefined") return;
    const source = new EventSource(url, { withCredentials: true });
    (body.dataset.views || "").split(" ").filter(Boolean).forEach((view) => source.addEventListener(view, schedule));
    source.onmessage = schedule;
    source.onopen = () => { body.dataset.live = "open"; say("Live: connected"); };
    source.onerror = () => { body.dataset.live = "retrying"; say("Live updates: reconnecting…"); };
    const poll = Number(body.dataset.poll || 0);
    if (poll > 0) setInterval(schedule, poll);
  }

  async function act(form, action) {
    const status = document.getElementById("action-result");
    const note = form.querySelector("input[name=note]").value.trim();
    if (action === "note" && !note) {
      if (status) status.textContent = "Write a note first.";
      return;
    }
    const response = await fetch("/api/v1/alerts/" + encodeURIComponent(form.dataset.alert) + "/" + action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Edupulse-Dashboard": "1" },
      body: JSON.stringify(note ? { note: note } : {}),
    });
    const answer = await response.json().catch(() => ({}));
    const done = { ack: "acknowledged", resolve: "resolved", reopen: "reopened", note: "note added" }[action];
    if (status) status.textContent = response.ok ? "Done: " + done : "Not done: " + (answer.message || response.status);
    refresh();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.classList || !form.classList.contains("alert-actions")) return;
    event.preventDefault();
    act(form, event.submitter ? event.submitter.value : "note");
  });

  drawAll();
  listen();
})();
