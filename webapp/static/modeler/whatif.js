// Try before deploy: the diagram as it stands in the modeler, replayed on the running
// version's recent cases by the server (webapp/engine/whatif.py). The answer is a summary,
// a row per case, and counts drawn on the diagram's elements (bpmn-js overlays).
(function () {
  "use strict";
  var box = document.getElementById("whatif-box");
  var button = document.getElementById("whatif");
  if (!box || !button || !window.AftersalesModeler) { return; }
  var M = window.AftersalesModeler;
  var S = JSON.parse(document.getElementById("whatif-strings").textContent);
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var $ = function (id) { return document.getElementById(id); };
  var OUTCOMES = ["same_path", "other_path", "stuck", "failed"];

  function say(text, kind) {
    var status = $("whatif-status");
    status.textContent = text;
    status.className = "modeler-status" + (kind ? " status-" + kind : "");
  }

  function cell(row, text, attrs) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    Object.keys(attrs || {}).forEach(function (k) { td.setAttribute(k, attrs[k]); });
    row.appendChild(td);
    return td;
  }

  function nameOf(report, id) {
    if (!id) { return ""; }
    var element = M.modeler.get("elementRegistry").get(id);
    var name = (element && element.businessObject.name) || (report.elements[id] || {}).name;
    return name ? name + " (" + id + ")" : id;
  }

  function clearOverlays() {
    M.modeler.get("overlays").remove({ type: "whatif" });
  }

  // One badge under each element the trial touched: how many cases reached it, parted
  // from it, got stuck or failed there.
  function drawCounts(report) {
    clearOverlays();
    var overlays = M.modeler.get("overlays"), registry = M.modeler.get("elementRegistry");
    Object.keys(report.elements).forEach(function (id) {
      var element = registry.get(id);
      if (!element || element.waypoints) { return; }
      var counts = report.elements[id];
      var badge = document.createElement("div");
      badge.className = "whatif-badge" + (counts.stuck ? " whatif-stuck" : "") + (counts.failed ? " whatif-failed" : "")
        + (counts.diverged ? " whatif-diverged" : "");
      badge.dataset.whatif = id;
      var parts = [S.reached + " " + counts.reached];
      if (counts.diverged) { parts.push(S.diverged + " " + counts.diverged); }
      if (counts.stuck) { parts.push(S.badgeStuck + " " + counts.stuck); }
      if (counts.failed) { parts.push(S.badgeFailed + " " + counts.failed); }
      badge.textContent = parts.join(" · ");
      overlays.add(id, "whatif", { position: { bottom: -4, left: 0 }, html: badge });
    });
  }

  function showReport(report) {
    var summary = $("whatif-summary").querySelector("tbody");
    summary.innerHTML = "";
    OUTCOMES.forEach(function (outcome) {
      var row = document.createElement("tr");
      row.dataset.outcome = outcome;
      cell(row, S[outcome]);
      cell(row, report.summary[outcome], { "data-count": outcome });
      summary.appendChild(row);
    });
    var total = document.createElement("tr");
    cell(total, S.total);
    cell(total, report.summary.cases, { "data-count": "cases" });
    summary.appendChild(total);

    var cases = $("whatif-cases").querySelector("tbody");
    cases.innerHTML = "";
    report.cases.forEach(function (c) {
      var row = document.createElement("tr");
      row.dataset.instance = c.instance_id;
      row.dataset.outcome = c.outcome;
      cell(row, c.business_key, { translate: "no" });
      cell(row, c.status, { translate: "no" });
      cell(row, S[c.outcome], { class: "outcome-" + c.outcome });
      var where = c.outcome === "other_path" ? S.from.replace("%(element)s", nameOf(report, c.from))
        : c.outcome === "same_path" ? "" : nameOf(report, c.element);
      cell(row, where, { translate: "no" });
      var detail = c.error || (c.waiting && c.waiting.length && c.outcome !== "stuck"
        ? S.waitsAt.replace("%(element)s", c.waiting.map(function (id) { return nameOf(report, id); }).join(", ")) : "");
      cell(row, detail, { translate: "no" });
      cases.appendChild(row);
    });
    $("whatif-result").hidden = false;
    drawCounts(report);
    box.dataset.done = "true";
  }

  function run(event) {
    if (event) { event.preventDefault(); }
    delete box.dataset.done;
    say(S.running);
    M.workingSet().then(function (set) {
      // the main process: the running version's own process id (the server picks it when the draft has several)
      var body = { files: set.files, forms: set.forms };
      if (set.main) { body.main = set.main; }
      ["limit", "from", "to"].forEach(function (name) {
        var value = $("whatif-" + name).value;
        if (value) { body[name] = value; }
      });
      // a period replaces the count unless both are given on purpose
      if ((body.from || body.to) && $("whatif-limit").value === $("whatif-limit").defaultValue) { delete body.limit; }
      return fetch(box.dataset.url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) { json._status = response.status; return json; });
      });
    }).then(function (report) {
      if (report._status !== 200) {
        var reasons = Object.keys(report.errors || {}).map(function (k) { return k + ": " + report.errors[k]; });
        say(S.failedRequest + " " + (reasons.join("; ") || report.error || report._status), "error");
        box.dataset.done = "error";
        return;
      }
      showReport(report);
      say(report.summary.cases ? S.done.replace("%(count)s", report.summary.cases).replace("%(seconds)s", report.summary.seconds)
        : S.none, "ok");
    }).catch(function (err) {
      console.error(err);
      say(S.failedRequest + " " + err, "error");
      box.dataset.done = "error";
    });
  }

  button.addEventListener("click", function () {
    box.hidden = false;
    box.scrollIntoView({ block: "start" });
    run();
  });
  $("whatif-form").addEventListener("submit", run);
}());
