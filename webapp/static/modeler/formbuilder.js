// The form builder on the modeler's Forms tab: a list of fields (label, key, type, required,
// options, a condition, limits) that the person adds, orders and edits. This script only edits
// that list; the server reads it from the form, writes it back into the JSON Schema and UI
// schema (keeping whatever the builder does not model), checks it and renders the preview with
// the staff pages' own renderer (/processes/api/form-builder/...). Saving puts the files into
// the modeler's working set through the raw JSON editor, so Deploy carries them.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var root = $("form-builder");
  if (!root) { return; }
  var S = JSON.parse($("formbuilder-strings").textContent);
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var LIMITS = { text: ["minLength", "maxLength"], textarea: ["minLength", "maxLength"], number: ["minimum", "maximum"],
    integer: ["minimum", "maximum"], multiselect: ["minItems", "maxItems"], files: ["minItems", "maxItems"],
    table: ["minItems", "maxItems"] };
  var RULES = ["after", "notBefore", "before", "notAfter"];
  var CONDITION_TYPES = ["text", "textarea", "number", "integer", "select", "boolean"];
  var state = { name: null, schema: null, ui: null, fields: [], dirty: false, seq: 0, timer: null, dragged: null, loads: 0, previews: 0 };

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) { return { status: response.status, body: json }; });
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (attrs[k] !== null && attrs[k] !== undefined) { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }

  function status(text, kind) {
    var box = $("fb-status");
    box.textContent = text;
    box.className = "modeler-status" + (kind ? " status-" + kind : "");
  }

  function rawJson() {
    try {
      return { schema: JSON.parse($("form-schema").value || "{}"), ui: JSON.parse($("form-ui").value || "{}") };
    } catch (err) { return null; }
  }

  // ------------------------------------------------------------ reading a form

  function load() {
    state.name = $("form-editor").dataset.form || null;
    $("fb-empty").hidden = !!state.name;
    if (!state.name) { state.fields = []; render(); return; }
    var raw = rawJson();
    if (!raw) { $("fb-error").textContent = S.notSaved; return; }
    state.schema = raw.schema; state.ui = raw.ui; state.dirty = false;
    var asked = ++state.loads;
    post(root.dataset.fieldsUrl, { schema: raw.schema, ui_schema: raw.ui }).then(function (answer) {
      if (asked !== state.loads) { return; }  // another form was chosen meanwhile: its answer counts
      if (answer.status !== 200) { $("fb-error").textContent = answer.body.error || ""; return; }
      $("fb-error").textContent = "";
      status("");
      state.fields = answer.body.fields;
      render();
      root.dataset.loaded = state.name;  // whose fields the list shows
      preview();
    });
  }

  // ------------------------------------------------------------ the list of fields

  function optionsText(options) {
    return (options || []).map(function (o) { return o.value === o.label ? o.value : o.value + " = " + o.label; }).join("\n");
  }
  function parseOptions(text) {
    return text.split("\n").map(function (line) { return line.trim(); }).filter(Boolean).map(function (line) {
      var at = line.indexOf("=");
      if (at < 0) { return { value: line, label: line }; }
      return { value: line.slice(0, at).trim(), label: line.slice(at + 1).trim() || line.slice(0, at).trim() };
    });
  }
  function columnsText(columns) {
    return (columns || []).map(function (c) { return c.key + " = " + c.label + " : " + c.type + (c.required ? " !" : ""); }).join("\n");
  }
  function parseColumns(text) {
    return text.split("\n").map(function (line) { return line.trim(); }).filter(Boolean).map(function (line) {
      var required = /!\s*$/.test(line);
      line = line.replace(/!\s*$/, "").trim();
      var m = /^([^=:]*?)\s*(?:=\s*([^:]*?))?\s*(?::\s*(\S+))?$/.exec(line) || [];
      return { key: (m[1] || "").trim(), label: (m[2] || m[1] || "").trim(), type: (m[3] || "text").trim(), required: required };
    });
  }

  function labelled(text, input, what) {
    var id = "fb-" + (++state.seq);
    input.id = id;
    return el("div", { "class": "fb-row" }, [el("label", { "for": id, text: text }), input, el("p", { "class": "fb-err", "data-for": what })]);
  }
  function input(value, what, attrs) {
    var node = el("input", Object.assign({ "data-what": what }, attrs || {}));
    node.value = value === null || value === undefined ? "" : String(value);
    return node;
  }
  function select(pairs, value, what) {
    var node = el("select", { "data-what": what });
    pairs.forEach(function (p) { node.appendChild(el("option", { value: p[0], text: p[1] })); });
    node.value = value === null || value === undefined ? "" : String(value);
    return node;
  }

  function conditionValueInput(f, other) {
    var value = f.condition ? f.condition.value : "";
    if (other && other.type === "boolean") {
      return select([["true", S.yes], ["false", S.no]], value === false || value === "false" ? "false" : "true", "condition.value");
    }
    if (other && other.type === "select") {
      return select((other.options || []).map(function (o) { return [o.value, o.label]; }), value, "condition.value");
    }
    return input(value, "condition.value");
  }

  function card(f, index) {
    var item = el("li", { "class": "fb-field", "data-index": String(index), "data-key": f.key, draggable: "true" });
    var title = el("span", { "class": "fb-title", text: (index + 1) + ". " + (f.label || f.key || S.newField) });
    var head = el("div", { "class": "fb-head" }, [
      el("span", { "class": "fb-grip", "aria-hidden": "true", text: "⋮⋮" }), title,
      el("button", { type: "button", "data-move": "-1", "aria-label": S.up + " " + (f.label || f.key), title: S.up, text: "↑" }),
      el("button", { type: "button", "data-move": "1", "aria-label": S.down + " " + (f.label || f.key), title: S.down, text: "↓" }),
      el("button", { type: "button", "data-remove": "1", "aria-label": S.remove + " " + (f.label || f.key), title: S.remove, text: "✕" })
    ]);
    item.appendChild(head);
    item.appendChild(el("p", { "class": "fb-err", "data-for": "" }));
    item.appendChild(labelled(S.label, input(f.label, "label"), "label"));
    item.appendChild(labelled(S.key, input(f.key, "key", { spellcheck: "false", translate: "no" }), "key"));
    var types = Object.keys(S.types).filter(function (t) { return t !== "other" || f.type === "other"; });
    item.appendChild(labelled(S.type, select(types.map(function (t) { return [t, S.types[t]]; }), f.type, "type"), "type"));
    if (f.type === "other") {
      item.appendChild(el("p", { "class": "muted", text: S.other }));
      return item;
    }
    var required = el("input", { type: "checkbox", "data-what": "required" });
    required.checked = !!f.required;
    var id = "fb-" + (++state.seq);
    required.id = id;
    item.appendChild(el("div", { "class": "fb-row fb-check" }, [required, el("label", { "for": id, text: S.required })]));
    if (f.type === "select" || f.type === "multiselect") {
      var options = el("textarea", { "data-what": "options", rows: "3", spellcheck: "false" });
      options.value = optionsText(f.options);
      item.appendChild(labelled(S.options, options, "options"));
    }
    if (f.type === "table") {
      var columns = el("textarea", { "data-what": "columns", rows: "3", spellcheck: "false" });
      columns.value = columnsText(f.columns);
      item.appendChild(labelled(S.columns, columns, "columns"));
    }
    (LIMITS[f.type] || []).forEach(function (name) {
      item.appendChild(labelled(S[name], input((f.limits || {})[name], "limits." + name, { type: "number", step: "any" }), "limits." + name));
    });
    if (f.type === "date" || f.type === "datetime") {
      var targets = [["", S.noRule], ["now", S.now]].concat(state.fields.filter(function (o) {
        return o !== f && (o.type === "date" || o.type === "datetime");
      }).map(function (o) { return [o.key, o.label || o.key]; }));
      var rules = el("fieldset", { "class": "fb-time" }, [el("legend", { text: S.time })]);
      RULES.forEach(function (rule) {
        rules.appendChild(labelled(S[rule], select(targets, (f.time || {})[rule] || "", "time." + rule), "time." + rule));
      });
      item.appendChild(rules);
    }
    var others = state.fields.filter(function (o) { return o !== f && CONDITION_TYPES.indexOf(o.type) >= 0; });
    var cond = f.condition || {};
    var other = state.fields.filter(function (o) { return o.key === cond.field; })[0];
    var when = el("fieldset", { "class": "fb-condition" }, [el("legend", { text: S.condition })]);
    when.appendChild(labelled(S.conditionField, select([["", S.always]].concat(others.map(function (o) { return [o.key, o.label || o.key]; })),
      cond.field || "", "condition.field"), "condition.field"));
    if (cond.field) {
      when.appendChild(labelled(S.conditionTest, select([["equals", S.equals], ["filled", S.filled]], cond.op || "equals", "condition.op"), "condition.op"));
      if ((cond.op || "equals") === "equals") { when.appendChild(labelled(S.value, conditionValueInput(f, other), "condition.value")); }
    }
    item.appendChild(when);
    item.appendChild(labelled(S.help, input(f.help, "help"), "help"));
    return item;
  }

  function render() {
    var list = $("fb-fields");
    list.textContent = "";
    state.fields.forEach(function (f, i) { list.appendChild(card(f, i)); });
  }

  function setCondition(f, what, value) {
    var cond = f.condition ? Object.assign({}, f.condition) : { field: "", op: "equals", value: "" };
    if (what === "condition.field") {
      if (!value) { f.condition = null; return true; }
      var other = state.fields.filter(function (o) { return o.key === value; })[0];
      cond = { field: value, op: cond.op || "equals", value: other && other.type === "boolean" ? "true"
        : other && other.type === "select" && other.options.length ? other.options[0].value : "" };
    } else if (what === "condition.op") {
      cond.op = value;
    } else {
      cond.value = value;
    }
    f.condition = cond;
    return what !== "condition.value";
  }

  // One edit: update the field from its input; true when the card must be drawn again.
  function edit(f, node) {
    var what = node.dataset.what, value = node.type === "checkbox" ? node.checked : node.value;
    if (what === "key") {
      // conditions and time rules that name the field follow its new key
      state.fields.forEach(function (o) {
        if (o.condition && o.condition.field === f.key) { o.condition.field = value; }
        Object.keys(o.time || {}).forEach(function (r) { if (o.time[r] === f.key) { o.time[r] = value; } });
      });
      f.key = value;
      return false;
    }
    if (what === "type") { f.type = value; f.limits = {}; f.time = {}; return true; }
    if (what === "options") { f.options = parseOptions(value); return false; }
    if (what === "columns") { f.columns = parseColumns(value); return false; }
    if (what.indexOf("limits.") === 0) { f.limits = Object.assign({}, f.limits); f.limits[what.slice(7)] = value; return false; }
    if (what.indexOf("time.") === 0) { f.time = Object.assign({}, f.time); f.time[what.slice(5)] = value; return false; }
    if (what.indexOf("condition.") === 0) { return setCondition(f, what, value); }
    f[what] = value;
    return false;
  }

  function changed(redraw) {
    state.dirty = true;
    status(S.unsaved);
    if (redraw) { render(); }
    clearTimeout(state.timer);
    $("fb-preview").dataset.pending = "true";  // until the answer to the latest edit is shown
    state.timer = setTimeout(preview, 300);
  }

  function move(from, to) {
    if (to < 0 || to >= state.fields.length || from === to) { return; }
    var f = state.fields.splice(from, 1)[0];
    state.fields.splice(to, 0, f);
    changed(true);
  }

  $("fb-fields").addEventListener("input", function (event) {
    var item = event.target.closest("li.fb-field");
    if (!item || !event.target.dataset.what || event.target.tagName === "SELECT") { return; }
    var f = state.fields[+item.dataset.index];
    edit(f, event.target);
    if (event.target.dataset.what === "label") { item.querySelector(".fb-title").textContent = (+item.dataset.index + 1) + ". " + f.label; }
    changed(false);
  });
  $("fb-fields").addEventListener("change", function (event) {
    var item = event.target.closest("li.fb-field");
    if (!item || !event.target.dataset.what) { return; }
    var what = event.target.dataset.what;
    if (event.target.tagName !== "SELECT" && event.target.type !== "checkbox" && what !== "key") { return; }
    // a new key is drawn again in the other fields' condition and time menus
    changed(edit(state.fields[+item.dataset.index], event.target) || what === "key");
  });
  $("fb-fields").addEventListener("click", function (event) {
    var button = event.target.closest("button");
    var item = event.target.closest("li.fb-field");
    if (!button || !item) { return; }
    var index = +item.dataset.index;
    if (button.dataset.move) { move(index, index + (+button.dataset.move)); }
    if (button.dataset.remove) { state.fields.splice(index, 1); changed(true); }
  });
  // Drag a card onto another to put it there.
  $("fb-fields").addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest("li.fb-field");
    if (!item) { return; }
    state.dragged = +item.dataset.index;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.dataset.index);
  });
  $("fb-fields").addEventListener("dragover", function (event) {
    if (state.dragged !== null) { event.preventDefault(); }
  });
  $("fb-fields").addEventListener("drop", function (event) {
    var item = event.target.closest("li.fb-field");
    if (state.dragged === null || !item) { return; }
    event.preventDefault();
    var from = state.dragged;
    state.dragged = null;
    move(from, +item.dataset.index);
  });
  $("fb-fields").addEventListener("dragend", function () { state.dragged = null; });

  $("fb-add").addEventListener("click", function () {
    if (!state.name) { return; }
    var n = state.fields.length + 1, key = "field_" + n;
    while (state.fields.some(function (f) { return f.key === key; })) { key = "field_" + (++n); }
    state.fields.push({ original: null, key: key, type: "text", label: "", required: false, help: "", placeholder: "",
      options: [], columns: [], limits: {}, time: {}, condition: null });
    changed(true);
    var cards = $("fb-fields").querySelectorAll("li.fb-field");
    cards[cards.length - 1].querySelector("[data-what=label]").focus();
  });

  // ------------------------------------------------------------ preview, errors, save

  function showErrors(errors) {
    root.querySelectorAll(".fb-err").forEach(function (p) { p.textContent = ""; });
    root.querySelectorAll("[aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    Object.keys(errors || {}).forEach(function (path) {
      var m = /^fields\.(\d+)\.?(.*)$/.exec(path);
      var item = m && $("fb-fields").querySelector('li.fb-field[data-index="' + m[1] + '"]');
      if (!item) { $("fb-error").textContent = errors[path]; return; }
      var what = m[2], target = item.querySelector('.fb-err[data-for="' + what + '"]');
      while (!target && what) {
        what = what.indexOf(".") >= 0 ? what.slice(0, what.lastIndexOf(".")) : "";
        target = item.querySelector('.fb-err[data-for="' + what + '"]');
      }
      target.textContent = errors[path];
      var field = target.parentNode.querySelector("[data-what]");
      if (field && what) { field.setAttribute("aria-invalid", "true"); }
    });
  }

  function body() { return { schema: state.schema, ui_schema: state.ui, fields: state.fields }; }

  function preview() {
    if (!state.name) { return; }
    clearTimeout(state.timer);
    var box = $("fb-preview"), asked = ++state.previews;
    box.dataset.pending = "true";
    post(root.dataset.previewUrl, body()).then(function (answer) {
      if (asked !== state.previews) { return; }  // a newer edit's preview is on its way
      delete box.dataset.pending;
      if (answer.status === 200) {
        showErrors({});
        $("fb-error").textContent = "";
        box.innerHTML = answer.body.html;
        if (window.AftersalesForms) { window.AftersalesForms.applyConditions(box); }
      } else {
        showErrors(answer.body.errors);
        $("fb-error").textContent = answer.body.error || "";
      }
      box.dataset.updated = String(Date.now());
    });
  }
  // The preview is a form of its own: choosing a value there shows the fields it conditions.
  $("fb-preview").addEventListener("change", function () {
    if (window.AftersalesForms) { window.AftersalesForms.applyConditions($("fb-preview")); }
  });
  $("fb-preview").addEventListener("submit", function (event) { event.preventDefault(); });

  function save() {
    if (!state.name) { return; }
    post(root.dataset.saveUrl, body()).then(function (answer) {
      if (answer.status !== 200) {
        showErrors(answer.body.errors);
        $("fb-error").textContent = answer.body.error || "";
        status(S.notSaved, "error");
        return;
      }
      // Into the working set by the raw editor's own path (modeler.js listens to its input).
      $("form-schema").value = JSON.stringify(answer.body.schema, null, 2);
      $("form-ui").value = JSON.stringify(answer.body.ui_schema, null, 2);
      $("form-schema").dispatchEvent(new Event("input", { bubbles: true }));
      $("form-ui").dispatchEvent(new Event("input", { bubbles: true }));
      state.schema = answer.body.schema; state.ui = answer.body.ui_schema;
      state.fields = answer.body.fields; state.dirty = false;
      render();
      showErrors({});
      $("fb-error").textContent = "";
      status(S.saved, "ok");
      root.dataset.saved = String(Date.now());
      preview();  // the saved files, as staff will see them
    });
  }
  $("fb-save").addEventListener("click", save);

  // ------------------------------------------------------------ builder or raw JSON

  function showView(view) {
    $("form-editor").dataset.view = view;
    document.querySelectorAll(".fb-views button").forEach(function (b) { b.setAttribute("aria-pressed", b.dataset.view === view ? "true" : "false"); });
    if (view === "json" && state.dirty) { $("form-json-error").textContent = S.unsavedJson; }
    if (view === "builder" && !state.dirty) { load(); }
  }
  document.querySelectorAll(".fb-views button").forEach(function (b) {
    b.addEventListener("click", function () { showView(b.dataset.view); });
  });
  // Another form chosen (or created) on the tab: the builder reads it.
  new MutationObserver(function () {
    if ($("form-editor").dataset.form !== state.name) { state.dirty = false; if ($("form-editor").dataset.view === "builder") { load(); } }
  }).observe($("form-editor"), { attributes: true, attributeFilter: ["data-form"] });
})();
