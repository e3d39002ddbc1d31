// The process list's Import: the chosen files wait in this tab's session storage and the
// modeler opens them as a new draft (modeler.js, importWaiting).
(function () {
  "use strict";
  ["import-files", "import-folder"].forEach(function (id) {
    var input = document.getElementById(id);
    if (!input) { return; }
    input.addEventListener("change", function () {
      var wanted = Array.prototype.filter.call(input.files, function (f) { return /\.(bpmn|xml|dmn|json)$/i.test(f.name); });
      Promise.all(wanted.map(function (file) {
        return file.text().then(function (text) { return { name: file.name, text: text }; });
      })).then(function (files) {
        window.sessionStorage.setItem("aftersales-import", JSON.stringify(files));
        window.location.href = input.dataset.target;
      });
    });
  });
})();
