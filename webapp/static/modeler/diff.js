// Two versions of a diagram side by side: removed and changed elements marked on the older,
// added and changed ones on the newer.
(function () {
  "use strict";
  var box = document.getElementById("diff");
  if (!box || typeof window.BpmnJS !== "function") { if (box) { box.textContent = box.dataset.error; } return; }
  function show(container, xml, marks) {
    var viewer = new window.BpmnJS({ container: container, additionalModules: [window.AftersalesTranslate.module("bpmn")] });
    return viewer.importXML(xml).then(function () {
      var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
      Object.keys(marks).forEach(function (marker) {
        marks[marker].forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, marker); } });
      });
      canvas.zoom("fit-viewport");
    });
  }
  fetch(box.dataset.src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (response) { if (!response.ok) { throw new Error("HTTP " + response.status); } return response.json(); })
    .then(function (body) {
      var changed = Object.keys(body.changed);
      return Promise.all([
        show("#diagram-a", body.a.xml, { "diff-removed": body.removed, "diff-changed": changed }),
        show("#diagram-b", body.b.xml, { "diff-added": body.added, "diff-changed": changed })
      ]);
    })
    .then(function () { box.dataset.ready = "true"; })
    .catch(function () { box.dataset.ready = "error"; box.insertAdjacentText("afterbegin", box.dataset.error); });
})();
