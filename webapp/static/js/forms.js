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

  // ---- conditional fields: JSON Schema if/then/else, dependentRequired, dependentSchemas.
  // The server sends, on each such field, the schemas under which it is required; this is a
  // small evaluator for the parts of JSON Schema those conditions use (const, enum, numbers,
  // lengths, required, not/allOf/anyOf/oneOf). The server checks the whole schema anyway.
  function encode(value) { return typeof value === "string" ? value : JSON.stringify(value); }
  function valuesOf(form, prefix) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name.indexOf(prefix) !== 0 || el.disabled) { return; }
      var name = el.name.slice(prefix.length);
      if (name.indexOf(".") !== -1 || name.charAt(0) === "_") { return; }
      if (el.type === "checkbox" && el.value === "true") { data[name] = el.checked ? "true" : "false"; return; }
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
      if (String(el.value).trim() !== "") { data[name] = String(el.value); }
    });
    return data;
  }
  function holds(schema, value) {
    if (schema === true || schema === undefined || schema === null) { return true; }
    if (schema === false) { return false; }
    if ("const" in schema && encode(schema["const"]) !== value) { return false; }
    if (schema["enum"] && !schema["enum"].some(function (v) { return encode(v) === value; })) { return false; }
    var number = parseFloat(value);
    if ("minimum" in schema && !(number >= schema.minimum)) { return false; }
    if ("maximum" in schema && !(number <= schema.maximum)) { return false; }
    if ("exclusiveMinimum" in schema && !(number > schema.exclusiveMinimum)) { return false; }
    if ("exclusiveMaximum" in schema && !(number < schema.exclusiveMaximum)) { return false; }
    if ("minLength" in schema && !(typeof value === "string" && value.length >= schema.minLength)) { return false; }
    return objectHolds(schema, value);
  }
  function objectHolds(schema, data) {
    var isObject = data !== null && typeof data === "object";
    if (schema.required && isObject && !schema.required.every(function (n) { return n in data; })) { return false; }
    if (schema.properties && isObject) {
      for (var name in schema.properties) {
        if (name in data && !holds(schema.properties[name], data[name])) { return false; }
      }
    }
    if (schema.not && holds(schema.not, data)) { return false; }
    if (schema.allOf && !schema.allOf.every(function (s) { return holds(s, data); })) { return false; }
    if (schema.anyOf && !schema.anyOf.some(function (s) { return holds(s, data); })) { return false; }
    if (schema.oneOf && schema.oneOf.filter(function (s) { return holds(s, data); }).length !== 1) { return false; }
    return true;
  }
  function applyConditions(form) {
    form.querySelectorAll("[data-when]").forEach(function (wrap) {
      var data = valuesOf(form, wrap.dataset.prefix || "");
      var when = JSON.parse(wrap.dataset.when);
      var on = when.some(function (s) { return holds(s, data); });
      wrap.hidden = !on;
      wrap.querySelectorAll("input,select,textarea").forEach(function (el) {
        el.disabled = !on;
        if (on) { el.setAttribute("aria-required", "true"); } else { el.removeAttribute("aria-required"); }
      });
      var mark = wrap.querySelector("[data-req]");
      if (mark) { mark.hidden = !on; }
    });
  }

  // ---- time rules ("x-time" in the schema): checked as soon as a time is entered, against
  // the server's clock (the page carries it), in the person's own time zone.
  function momentOf(input, offsetMinutes) {
    var text = input.value;
    if (!text) { return null; }
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(text);
    if (!m) { return null; }
    var utc = Date.UTC(+m[1], +m[2] - 1, +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0);
    return { at: utc - offsetMinutes * 60000, dateOnly: !m[4] };
  }
  var loadedAt = Date.now();
  function timeProblem(input) {
    var spec = JSON.parse(input.dataset.time);
    var own = momentOf(input, spec.offset);
    if (!own) { return ""; }
    var slack = 5 * 60000;
    for (var i = 0; i < spec.rules.length; i++) {
      var rule = spec.rules[i][0], target = spec.rules[i][1], message = spec.rules[i][2];
      var other, a = own.at, b;
      if (target === "now") {
        var now = Date.parse(spec.now) + (Date.now() - loadedAt);
        if (own.dateOnly) {
          // Calendar days, as generous as the server: today anywhere on earth.
          b = rule === "before" || rule === "notAfter" ? now + 14 * 3600000 : now - 12 * 3600000;
          var day = new Date(b); b = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
          a = own.at + spec.offset * 60000;
        } else {
          b = rule === "before" || rule === "notAfter" ? now + slack : now - slack;
        }
      } else {
        var el = document.getElementById(target);
        other = el ? momentOf(el, spec.offset) : null;
        if (!other) { continue; }
        b = other.at;
      }
      var ok = { after: a > b, notBefore: a >= b, before: a < b, notAfter: a <= b }[rule];
      if (!ok) { return message; }
    }
    return "";
  }
  function showTimeProblem(input) {
    var message = timeProblem(input);
    var wrap = input.closest("[data-field-wrap]") || input.parentNode;
    var id = input.id + "-error";
    var p = document.getElementById(id);
    if (message) {
      if (!p) {
        p = document.createElement("p");
        p.className = "field-error"; p.id = id; p.dataset.field = input.name;
        wrap.appendChild(p);
      }
      p.textContent = message;
      p.dataset.time = "1";
      wrap.classList.add("has-error");
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "").replace(id, "") + " " + id).trim());
    } else if (p && p.dataset.time) {
      p.remove();
      wrap.classList.remove("has-error");
      input.removeAttribute("aria-invalid");
    }
    return message;
  }

  // ---- attachments: a chosen file or photo is uploaded at once and shown as a thumbnail; the
  // form then carries its reference (id + SHA-256). Without script the form posts the file.
  function attachmentItem(field, ref) {
    var li = document.createElement("li");
    li.className = "attachment";
    if (ref.thumb_url) {
      var img = document.createElement("img");
      img.className = "thumb"; img.src = ref.thumb_url; img.alt = ref.name;
      li.appendChild(img);
    }
    var link = document.createElement("a");
    link.href = ref.url; link.textContent = ref.name; link.setAttribute("translate", "no");
    li.appendChild(link);
    var hidden = document.createElement("input");
    hidden.type = "hidden"; hidden.name = field;
    hidden.value = JSON.stringify({ attachment: ref.attachment, sha256: ref.sha256, name: ref.name,
                                    size: ref.size, content_type: ref.content_type });
    li.appendChild(hidden);
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "small"; remove.dataset.removeAttachment = "1";
    remove.textContent = document.documentElement.lang.indexOf("zh") === 0 ? "移除" : "Remove";
    li.appendChild(remove);
    return li;
  }
  function uploadProblem(input, message) {
    var wrap = input.closest("[data-field-wrap]") || input.parentNode;
    var id = "f-" + input.dataset.field.replace(/\./g, "-") + "-error";
    var p = document.getElementById(id);
    if (!message) { if (p && p.dataset.upload) { p.remove(); } return; }
    if (!p) { p = document.createElement("p"); p.className = "field-error"; p.id = id; wrap.appendChild(p); }
    p.dataset.upload = "1";
    p.textContent = message;
  }
  document.querySelectorAll("input[type=file][data-upload]").forEach(function (input) {
    input.addEventListener("change", function () {
      var form = input.form;
      var token = form.querySelector("input[name=csrf_token]");
      var list = document.querySelector('[data-attachments="' + input.dataset.field + '"]');
      Array.prototype.forEach.call(input.files, function (file) {
        var body = new FormData();
        body.append("file", file, file.name);
        list.setAttribute("aria-busy", "true");
        fetch(input.dataset.upload, { method: "POST", body: body, credentials: "same-origin",
                                      headers: { "X-CSRFToken": token ? token.value : "" } })
          .then(function (response) {
            return response.json().catch(function () { return { error: response.statusText }; })
              .then(function (json) { return { ok: response.ok, json: json }; });
          })
          .then(function (answer) {
            list.removeAttribute("aria-busy");
            if (!answer.ok) {
              var errors = answer.json.errors || {};
              uploadProblem(input, errors.file || answer.json.error || "upload failed");
              return;
            }
            uploadProblem(input, "");
            list.appendChild(attachmentItem(input.dataset.field, answer.json));
            form.dispatchEvent(new Event("input", { bubbles: true }));
          })
          .catch(function () { list.removeAttribute("aria-busy"); uploadProblem(input, "upload failed"); });
      });
      input.value = "";
    });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-attachment]");
    if (!button) { return; }
    event.preventDefault();
    var form = button.closest("form");
    button.closest("li").remove();
    if (form) { form.dispatchEvent(new Event("input", { bubbles: true })); }
  });

  // The modeler's form builder re-applies conditions to its preview (a form it fills itself).
  window.AftersalesForms = { applyConditions: applyConditions };
  document.querySelectorAll("form.data-form").forEach(function (form) {
    applyConditions(form);
    form.addEventListener("change", function (event) {
      applyConditions(form);
      form.querySelectorAll("[data-time]").forEach(function (input) {
        if (input === event.target || input.value) { showTimeProblem(input); }
      });
    });
    form.addEventListener("submit", function (event) {
      var action = event.submitter ? event.submitter.value : "submit";
      if (action !== "submit" && action !== undefined && action !== "") { return; }
      var first = null;
      form.querySelectorAll("[data-time]").forEach(function (input) {
        if (!input.disabled && showTimeProblem(input) && !first) { first = input; }
      });
      if (first) { event.preventDefault(); first.focus(); }
    });
  });
})();
