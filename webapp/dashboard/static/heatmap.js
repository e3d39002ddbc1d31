// Process monitoring heat map: bpmn-js NavigatedViewer with, on each element, the number of
// tokens waiting there now and of completions in the period (colour by how busy it is).
(function () {
  "use strict";
  var box = document.getElementById("heatmap");
  if (!box || typeof window.BpmnJS !== "function") {
    if (box) { box.textContent = box.dataset.error; box.dataset.ready = "error"; }
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
      var overlays = viewer.get("overlays");
      var ids = Object.keys(body.elements);
      var maxActive = 1, maxDone = 1;
      ids.forEach(function (id) {
        maxActive = Math.max(maxActive, body.elements[id].active);
        maxDone = Math.max(maxDone, body.elements[id].completed);
      });
      var shown = [];
      ids.forEach(function (id) {
        var counts = body.elements[id];
        if (!registry.get(id)) { return; }
        shown.push(id);
        if (counts.active > 0) {
          canvas.addMarker(id, "heat-active-" + Math.min(4, Math.ceil(4 * counts.active / maxActive)));
        } else if (counts.completed > 0) {
          canvas.addMarker(id, "heat-done-" + Math.min(4, Math.ceil(4 * counts.completed / maxDone)));
        }
        var badge = document.createElement("div");
        badge.className = "heat-badge";
        badge.dataset.element = id;
        badge.innerHTML = (counts.active ? '<span class="heat-count-active">' + counts.active + "</span>" : "") +
          '<span class="heat-count-done">' + counts.completed + "</span>" +
          (counts.incidents ? '<span class="heat-count-incident">!' + counts.incidents + "</span>" : "");
        overlays.add(id, { position: { top: -14, right: 14 }, html: badge });
      });
      canvas.zoom("fit-viewport");
      box.dataset.ready = "true";
      box.dataset.elements = shown.sort().join(" ");
    })
    .catch(function () {
      box.textContent = box.dataset.error;
      box.dataset.ready = "error";
    });
})();
