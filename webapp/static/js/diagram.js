// The case diagram: bpmn-js NavigatedViewer with the completed and the waiting elements marked.
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || typeof window.BpmnJS !== "function") {
    if (box) { box.textContent = box.dataset.error; }
    return;
  }
  var viewer = new window.BpmnJS({ container: box, additionalModules: [window.AftersalesTranslate.module("bpmn")] });
  fetch(box.dataset.src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    })
    .then(function (body) {
      return viewer.importXML(body.xml).then(function () { return body; });
    })
    .then(function (body) {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      body.completed.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "done"); } });
      body.active.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "active"); } });
      canvas.zoom("fit-viewport");
      box.dataset.ready = "true";
      box.dataset.completed = body.completed.join(" ");
      box.dataset.active = body.active.join(" ");
    })
    .catch(function () {
      box.textContent = box.dataset.error;
      box.dataset.ready = "error";
    });
})();
