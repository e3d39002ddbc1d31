// Lines of rows (e.g. parts) are added and removed in the page; without JavaScript the
// "Add line" button asks the server for one more line instead.
(function () {
  "use strict";
  function renumber(fieldset) {
    var name = fieldset.dataset.rows;
    var lines = fieldset.querySelectorAll("tbody tr.row-line");
    lines.forEach(function (line, index) {
      line.querySelectorAll("[name],[id],[for],[aria-describedby]").forEach(function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (!value) { return; }
          var dotted = new RegExp("^" + name.replace(/\./g, "\\.") + "\\.(\\d+|__index__)\\.");
          var dashed = new RegExp("f-" + name.replace(/\./g, "-") + "-(\\d+|__index__)-", "g");
          value = value.replace(dotted, name + "." + index + ".").replace(dashed, "f-" + name.replace(/\./g, "-") + "-" + index + "-");
          el.setAttribute(attr, value);
        });
      });
    });
  }
  document.querySelectorAll("fieldset[data-rows]").forEach(function (fieldset) {
    var template = fieldset.querySelector("template[data-row-template]");
    var add = fieldset.querySelector("[data-add-row]");
    var body = fieldset.querySelector("tbody");
    if (add && template && body) {
      add.addEventListener("click", function (event) {
        event.preventDefault();
        body.appendChild(template.content.cloneNode(true));
        renumber(fieldset);
        var lines = body.querySelectorAll("tr.row-line");
        var first = lines[lines.length - 1].querySelector("input,select,textarea");
        if (first) { first.focus(); }
      });
    }
    fieldset.addEventListener("click", function (event) {
      var button = event.target.closest("[data-remove-row]");
      if (!button) { return; }
      event.preventDefault();
      button.closest("tr").remove();
      renumber(fieldset);
    });
  });
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
