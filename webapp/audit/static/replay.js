// The replay page: the diagram of the case's version (bpmn-js NavigatedViewer) with the
// elements completed and active at the chosen step marked. The slider, the previous/next
// buttons, the step list and the arrow keys load the server-rendered step panel (computed by
// replaying the history) and move the marks; without JavaScript the links load whole pages.
(function () {
  "use strict";
  var box = document.getElementById("replay-diagram");
  var form = document.getElementById("step-form");
  var slider = document.getElementById("step-slider");
  var output = document.getElementById("step-output");
  var prev = document.getElementById("step-prev");
  var next = document.getElementById("step-next");
  var area = document.querySelector(".step-area");
  var links = Array.prototype.slice.call(document.querySelectorAll(".step-list a[data-seq]"));
  var seqs = links.map(function (a) { return parseInt(a.dataset.seq, 10); });
  var viewer = null;
  var shownDefinition = null;
  var marked = [];
  var loading = 0;
  var latest = 0;

  function panel() { return document.getElementById("step-panel"); }

  function mark() {
    var p = panel();
    if (!viewer || !p) { return; }
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    marked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
    marked = [];
    var done = p.dataset.completed ? p.dataset.completed.split(" ") : [];
    var active = p.dataset.active ? p.dataset.active.split(" ") : [];
    done.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "done"); marked.push([id, "done"]); } });
    active.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "active"); marked.push([id, "active"]); } });
    box.dataset.completed = done.join(" ");
    box.dataset.active = active.join(" ");
    box.dataset.seq = p.dataset.seq;
  }

  function current() { var p = panel(); return p ? parseInt(p.dataset.seq, 10) : 0; }

  function show(seq, focusList) {
    if (!form || seqs.indexOf(seq) < 0) { return; }
    var index = seqs.indexOf(seq);
    loading += 1;
    latest += 1;
    var ticket = latest;
    area.setAttribute("aria-busy", "true");
    fetch(form.dataset.stepUrl + seq, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        if (ticket !== latest) { return; }  // a newer request follows
        area.innerHTML = html;
        slider.value = String(seq);
        output.textContent = (index + 1) + " / " + seqs.length;
        links.forEach(function (a, i) {
          if (i === index) { a.setAttribute("aria-current", "step"); } else { a.removeAttribute("aria-current"); }
        });
        prev.href = links[Math.max(index - 1, 0)].href;
        next.href = links[Math.min(index + 1, links.length - 1)].href;
        // the first and the last step have nowhere to go: no link that points to itself
        [[prev, index <= 0], [next, index >= links.length - 1]].forEach(function (pair) {
          pair[0].hidden = pair[1];
          if (pair[1]) { pair[0].setAttribute("aria-disabled", "true"); } else { pair[0].removeAttribute("aria-disabled"); }
        });
        var url = new URL(window.location.href);
        url.searchParams.set("step", String(seq));
        window.history.replaceState(null, "", url.toString());
        if (panel().dataset.definition && panel().dataset.definition !== shownDefinition) { load(); } else { mark(); }
        if (focusList) { links[index].focus(); }
      })
      .catch(function () { window.location.href = links[index].href; })
      .then(function () {
        loading -= 1;
        if (!loading) { area.removeAttribute("aria-busy"); area.dataset.ready = "true"; }
      });
  }

  function step(delta) {
    var index = seqs.indexOf(current());
    var target = Math.min(Math.max(index + delta, 0), seqs.length - 1);
    slider.value = String(seqs[target]);
    show(seqs[target]);
  }

  if (form && slider) {
    slider.addEventListener("input", function () { output.textContent = (seqs.indexOf(parseInt(slider.value, 10)) + 1) + " / " + seqs.length; });
    slider.addEventListener("change", function () { show(parseInt(slider.value, 10)); });
    prev.addEventListener("click", function (e) { e.preventDefault(); step(-1); });
    next.addEventListener("click", function (e) { e.preventDefault(); step(1); });
    links.forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        slider.value = a.dataset.seq;
        show(parseInt(a.dataset.seq, 10));
      });
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); show(parseInt(slider.value, 10)); });
    area.dataset.ready = "true";
  }

  if (!box) { return; }
  if (typeof window.BpmnJS !== "function") { box.textContent = box.dataset.error; box.dataset.ready = "error"; return; }
  viewer = new window.BpmnJS({ container: box, additionalModules: [window.AftersalesTranslate.module("bpmn")] });

  // The diagram of the version in force at the shown step (a migrated case changes version).
  function load() {
    var p = panel();
    var definition = p && p.dataset.definition ? p.dataset.definition : "";
    var url = box.dataset.src + (definition ? "?definition=" + encodeURIComponent(definition) : "");
    box.dataset.ready = "loading";
    shownDefinition = definition;
    marked = [];
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) { return viewer.importXML(body.xml).then(function () { return body; }); })
      .then(function (body) {
        viewer.get("canvas").zoom("fit-viewport");
        box.dataset.version = String(body.version);
        mark();
        box.dataset.ready = "true";
      })
      .catch(function () {
        box.dataset.ready = "error";
        if (!document.getElementById("replay-diagram-error")) {
          var note = document.createElement("p");
          note.id = "replay-diagram-error";
          note.className = "notice notice-warn";
          note.setAttribute("role", "alert");
          note.textContent = box.dataset.error;
          box.parentNode.insertBefore(note, box);
        }
      });
  }
  load();
})();
