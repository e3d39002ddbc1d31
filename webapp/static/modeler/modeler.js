// The process owners' modeler: bpmn-js Modeler with our properties (panel.js), dmn-js for
// decision tables, a JSON editor for forms with a live preview rendered by the server as staff
// will see it, Validate (problems shown at their elements) and Deploy.
(function () {
  "use strict";
  var V = window.ModelerVendor;
  var config = JSON.parse(document.getElementById("modeler-config").textContent);
  var S = JSON.parse(document.getElementById("modeler-strings").textContent);
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var $ = function (id) { return document.getElementById(id); };

  // The working set: every file of the opened version, and what the person added or changed.
  var state = { main: null, files: {}, forms: {}, original: {}, dirty: false, dmnDirty: {}, problems: {}, laneRoles: {}, imported: false };

  function api(url, body) {
    var options = { credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = csrf;
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        json._status = response.status;
        return json;
      });
    });
  }

  function status(text, kind) {
    var box = $("modeler-status");
    box.textContent = text;
    box.className = "modeler-status" + (kind ? " status-" + kind : "");
  }

  var ctx = {
    strings: S,
    catalog: config.catalog,
    // The forms of this process (those of the opened version, those its diagram names and those
    // created here); every known form only for a diagram that has none yet.
    formNames: function () {
      var names = {};
      Object.keys(state.forms).forEach(function (n) { names[n] = true; });
      (formsNamedInDiagram() || []).forEach(function (n) { names[n] = true; });
      if (!Object.keys(names).length) { config.catalog.forms.forEach(function (n) { names[n] = true; }); }
      return Object.keys(names).sort();
    },
    decisionIds: function () {
      var ids = config.catalog.decisions.map(function (d) { return d.id; });
      Object.keys(state.files).forEach(function (name) {
        if (/\.dmn$/.test(name)) {
          (state.files[name].match(/<(?:\w+:)?decision\b[^>]*\bid="([^"]+)"/g) || []).forEach(function (m) {
            ids.push(m.replace(/.*id="([^"]+)".*/, "$1"));
          });
        }
      });
      return ids.filter(function (v, i, a) { return a.indexOf(v) === i; }).sort();
    },
    formChosen: function (name) { if (name) { ensureForm(name); } },
    notice: function (text) { status(text, "error"); }
  };

  var modeler = new V.Modeler({
    container: "#canvas",
    propertiesPanel: { parent: "#properties", layout: { groups: { general: { open: true }, aftersales: { open: true } } } },
    additionalModules: [
      V.BpmnPropertiesPanelModule, V.BpmnPropertiesProviderModule, window.AftersalesPanel.module(ctx),
      // bpmn-js' own labels (palette, context pad, replace menu, panel) in the page's language
      window.AftersalesTranslate.module("bpmn"),
      // a quick look at the paths without data (npm: bpmn-js-token-simulation)
      V.TokenSimulationModule
    ],
    moddleExtensions: { spiffworkflow: window.AftersalesPanel.moddle }
  });
  // the token simulation's labels in the page's language
  window.AftersalesTranslate.translateAttributes(document.getElementById("canvas"));
  modeler.on("commandStack.changed", function () {
    state.dirty = true;
    document.body.dataset.dirty = "true";
  });

  // -------------------------------------------------------------- open

  function open() {
    var load = config.urls.version
      ? api(config.urls.version).then(function (body) {
        Object.keys(body.files).forEach(function (name) { state.files[name] = body.files[name]; });
        state.forms = body.forms || {};
        state.laneRoles = body.lane_roles || {};
        state.main = body.main_file || Object.keys(body.files).filter(function (n) { return /\.bpmn(20\.xml)?$/i.test(n); })[0];
      })
      : fetch(config.urls.blank, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (xml) {
        state.main = "new_process.bpmn";
        state.files[state.main] = xml;
      });
    return load.then(function () {
      state.original = JSON.parse(JSON.stringify({ files: state.files, forms: state.forms }));
      return showDiagram(state.files[state.main]);
    }).then(function () {
      document.body.dataset.modelerReady = "true";
      status(config.version ? S.opened.replace("%(version)s", config.version) : S.newDiagram);
    }).catch(function (err) {
      console.error(err);
      document.body.dataset.modelerReady = "error";
      status(S.openFailed, "error");
    });
  }

  function showDiagram(xml) {
    return modeler.importXML(window.Lossless.shelter(xml)).then(function (result) {
      fitToView();
      state.dirty = false;
      document.body.dataset.dirty = "false";
      // Unknown attributes are kept (moddle stores them as they are); list the rest.
      var lost = (result.warnings || []).filter(function (w) { return !/unknown attribute/.test(w.message); });
      if (lost.length) { console.warn(lost); }
      refreshDmnList();
      refreshFormList();
    });
  }

  // Fit the diagram into the canvas, right of the palette, and never above natural size.
  function fitToView() {
    var canvas = modeler.get("canvas");
    canvas.zoom("fit-viewport", "auto");
    var palette = document.querySelector("#canvas .djs-palette");
    var left = (palette ? palette.getBoundingClientRect().width : 0) + 24;
    var box = canvas.viewbox(), inner = box.inner, outer = box.outer;
    if (!inner.width || !inner.height) { return; }
    var scale = Math.min(1, (outer.width - left - 24) / inner.width, (outer.height - 48) / inner.height);
    canvas.zoom(scale);
    var spare = Math.max(24, (outer.height - inner.height * scale) / 2);  // centred in the height left
    canvas.viewbox({
      x: inner.x - left / scale, y: inner.y - spare / scale,
      width: outer.width / scale, height: outer.height / scale
    });
  }

  // -------------------------------------------------------------- the working set

  function workingSet(forceSave) {
    // An unchanged diagram is sent as it was opened, so deploying it again finds its version.
    var bpmn = (state.dirty || forceSave)
      ? modeler.saveXML({ format: true }).then(function (r) { return window.Lossless.restore(r.xml); })
      : Promise.resolve(state.original.files[state.main] || state.files[state.main]);
    return Promise.all([bpmn, saveDmn()]).then(function (values) {
      state.files[state.main] = values[0];
      // The main file first: deploy takes its process as the key's (not the alphabetically first file).
      var files = {};
      files[state.main] = state.files[state.main];
      Object.keys(state.files).forEach(function (name) { files[name] = state.files[name]; });
      return { files: files, forms: state.forms, main: state.main };
    });
  }

  // The form files the diagram's tasks name.
  function formsNamedInDiagram() {
    if (!modeler.get) { return []; }
    var names = [];
    try {
      modeler.get("elementRegistry").forEach(function (element) {
        var name = window.AftersalesPanel.propertyValue(element.businessObject, "formJsonSchemaFilename");
        if (name) { names.push(name, uiNameOf(name)); }
      });
    } catch (err) { return []; }
    return names;
  }

  // whatif.js (try before deploy) works on the same diagram and working set.
  window.AftersalesModeler = {
    modeler: modeler, config: config,
    workingSet: function () { return workingSet(true); },
    mainProcess: function () { return mainProcessName(); }
  };

  function mainProcessName() {
    var root = modeler.get("canvas").getRootElement().businessObject;
    var process = root.processRef || root;
    return process.id;
  }

  // -------------------------------------------------------------- validate: problems at their elements

  function clearProblems() {
    var overlays = modeler.get("overlays"), canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
    overlays.remove({ type: "problem" });
    Object.keys(state.problems).forEach(function (id) { if (registry.get(id)) { canvas.removeMarker(id, "has-problem"); } });
    state.problems = {};
  }

  // `texts`: the same problems in the page's language (the server translates the engine's words).
  function showProblems(problems, texts) {
    clearProblems();
    state.problems = problems || {};
    texts = texts || {};
    var overlays = modeler.get("overlays"), canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
    var list = $("problems");
    list.innerHTML = "";
    Object.keys(state.problems).forEach(function (id) {
      var reason = texts[id] || state.problems[id];
      var element = registry.get(id);
      var item = document.createElement("li");
      item.dataset.element = id;
      var where = document.createElement(element ? "button" : "strong");
      where.textContent = element ? (element.businessObject.name || id) : id;
      where.setAttribute("translate", "no");
      if (element) {
        where.type = "button";
        where.className = "link";
        where.addEventListener("click", function () {
          // an element inside a collapsed subprocess is drawn on that subprocess' own plane
          var root = canvas.findRoot(element);
          if (root && root !== canvas.getRootElement()) { canvas.setRootElement(root); }
          modeler.get("selection").select(element);
          canvas.scrollToElement(element);
        });
        canvas.addMarker(id, "has-problem");
        var badge = document.createElement("div");
        badge.className = "problem-badge";
        badge.dataset.problem = id;
        badge.title = reason;
        badge.textContent = "!";
        overlays.add(id, "problem", { position: { top: -10, right: 10 }, html: badge });
      }
      var text = document.createElement("span");
      text.textContent = ": " + reason;
      text.setAttribute("translate", "no");
      item.appendChild(where);
      item.appendChild(text);
      list.appendChild(item);
    });
    $("problems-box").dataset.count = String(Object.keys(state.problems).length);
  }

  function validate() {
    status(S.validating);
    return workingSet(false).then(function (set) {
      set.lane_roles = state.laneRoles;
      return api(config.urls.validate, set);
    }).then(function (body) {
      showProblems(body.problems || {}, body.problems_text);
      status(body.ok ? S.valid : S.invalid.replace("%(count)s", Object.keys(body.problems || {}).length), body.ok ? "ok" : "error");
      return body;
    });
  }

  // Deploy. A process id that another file already deployed answers 409: the person
  // confirms and it is sent again with replace. Lanes that match no role answer 400 with
  // the lanes: a small dialog maps each to a role and it is sent again with lane_roles.
  function deploy(forceSave, extra) {
    status(S.deploying);
    extra = extra || {};
    if (!extra.lane_roles && Object.keys(state.laneRoles).length) { extra = Object.assign({ lane_roles: state.laneRoles }, extra); }
    return workingSet(!!forceSave).then(function (set) {
      var body = { files: set.files, forms: set.forms, main: set.main };
      Object.keys(extra).forEach(function (k) { body[k] = extra[k]; });
      return api(config.urls.deploy, body);
    }).then(function (body) {
      if (body._status === 201 || body._status === 200) {
        clearProblems();
        $("problems").innerHTML = "";
        state.dirty = false;
        state.original = JSON.parse(JSON.stringify({ files: state.files, forms: state.forms }));
        config.key = body.key;
        config.version = body.version;
        if (extra.lane_roles) { state.laneRoles = extra.lane_roles; }
        showVersion(body);
        var text = (body.created ? S.deployed : S.unchanged).replace("%(version)s", body.version);
        if (body.replaced_file) { text += " " + S.replacedFile.replace("%(file)s", body.replaced_file); }
        status(text, "ok");
      } else if (body._status === 403) {
        status(S.forbidden, "error");
      } else if (body._status === 409 && body.needs_replace && !extra.replace) {
        if (window.confirm(S.replaceConfirm + "\n\n" + body.error)) {
          return deploy(forceSave, Object.assign({}, extra, { replace: true }));
        }
        status(body.error, "error");
      } else if (body._status === 400 && body.unmapped_lanes && body.unmapped_lanes.length) {
        showProblems(body.problems || body.errors || {}, body.problems_text);
        return askLaneRoles(body.unmapped_lanes, extra.lane_roles || {}).then(function (mapping) {
          if (!mapping) {
            status(S.invalid.replace("%(count)s", Object.keys(body.problems || body.errors || {}).length), "error");
            return body;
          }
          return deploy(forceSave, Object.assign({}, extra, { lane_roles: mapping }));
        });
      } else {
        showProblems(body.problems || body.errors || {}, body.problems_text);
        status(S.invalid.replace("%(count)s", Object.keys(body.problems || body.errors || {}).length), "error");
      }
      return body;
    });
  }

  // The page's title and heading name the version just deployed; the address opens it again.
  function showVersion(body) {
    document.body.dataset.deployedVersion = String(body.version);
    var heading = document.querySelector(".page-head h1");
    var name = body.name || (heading && heading.dataset.name) || body.key;
    if (heading) {
      heading.innerHTML = "";
      var title = document.createElement("span");
      title.setAttribute("translate", "no");
      title.textContent = name;
      var version = document.createElement("span");
      version.className = "muted";
      version.id = "modeler-version";
      version.textContent = "v" + body.version;
      heading.appendChild(title);
      heading.appendChild(document.createTextNode(" "));
      heading.appendChild(version);
    }
    var cut = document.title.indexOf(" · ");
    document.title = name + " v" + body.version + (cut >= 0 ? document.title.slice(cut) : "");
    if (config.urls.modeler && window.history.replaceState) {
      window.history.replaceState(null, "", config.urls.modeler.replace("__KEY__", encodeURIComponent(body.key)));
    }
  }

  // One select per lane that matches no role; resolves to {lane id: role code} or null.
  function askLaneRoles(lanes, known, okLabel) {
    return new Promise(function (resolve) {
      var dialog = document.createElement("dialog");
      dialog.id = "lane-roles-dialog";
      dialog.className = "lane-roles-dialog";
      var form = document.createElement("form");
      form.method = "dialog";
      var title = document.createElement("h2");
      title.textContent = S.laneRolesTitle;
      var intro = document.createElement("p");
      intro.textContent = S.laneRolesIntro;
      form.appendChild(title);
      form.appendChild(intro);
      lanes.forEach(function (lane) {
        var label = document.createElement("label");
        label.className = "field";
        var name = document.createElement("span");
        name.textContent = lane.name + (lane.name !== lane.id ? " (" + lane.id + ")" : "");
        name.setAttribute("translate", "no");
        var select = document.createElement("select");
        select.name = lane.id;
        select.dataset.lane = lane.id;
        var none = document.createElement("option");
        none.value = "";
        none.textContent = S.choose;
        select.appendChild(none);
        config.catalog.roles.forEach(function (role) {
          var option = document.createElement("option");
          option.value = role.code;
          option.textContent = role.name + " (" + role.code + ")";
          if (known[lane.id] === role.code) { option.selected = true; }
          select.appendChild(option);
        });
        label.appendChild(name);
        label.appendChild(select);
        form.appendChild(label);
      });
      var buttons = document.createElement("div");
      buttons.className = "actions";
      var ok = document.createElement("button");
      ok.type = "submit";
      ok.value = "ok";
      ok.className = "button primary";
      ok.textContent = okLabel || S.laneRolesDeploy;
      var cancel = document.createElement("button");
      cancel.type = "submit";
      cancel.value = "cancel";
      cancel.className = "button";
      cancel.textContent = S.cancel;
      buttons.appendChild(ok);
      buttons.appendChild(cancel);
      form.appendChild(buttons);
      dialog.appendChild(form);
      document.body.appendChild(dialog);
      dialog.addEventListener("close", function () {
        var mapping = null;
        if (dialog.returnValue === "ok") {
          mapping = Object.assign({}, known);
          Array.prototype.forEach.call(dialog.querySelectorAll("select"), function (select) {
            if (select.value) { mapping[select.dataset.lane] = select.value; }
          });
        }
        dialog.remove();
        resolve(mapping);
      });
      dialog.showModal();
    });
  }

  // -------------------------------------------------------------- decision tables (dmn-js)

  var dmn = null, dmnOpen = null;

  function dmnModeler() {
    if (!dmn && window.DmnJS) {
      // dmn-js' labels in the page's language: every view gets the translate module (dmn-js
      // replaces `common.additionalModules` by a view's own list, so it goes on each view).
      var translated = { additionalModules: [window.AftersalesTranslate.module("dmn")] };
      dmn = new window.DmnJS({
        container: "#dmn-canvas",
        drd: translated, decisionTable: translated, literalExpression: translated, boxedExpression: translated
      });
      window.AftersalesTranslate.translateAttributes(document.getElementById("dmn-canvas"));
      dmn.on("views.changed", function () {
        var viewer = dmn.getActiveViewer();
        if (viewer && !viewer.__watched) {
          viewer.__watched = true;
          viewer.get("eventBus").on("commandStack.changed", function () { if (dmnOpen) { state.dmnDirty[dmnOpen] = true; } });
        }
      });
    }
    return dmn;
  }

  function saveDmn() {
    if (!dmn || !dmnOpen || !state.dmnDirty[dmnOpen]) { return Promise.resolve(); }
    var name = dmnOpen;
    return dmn.saveXML({ format: true }).then(function (r) { state.files[name] = r.xml; });
  }

  function refreshDmnList() {
    var select = $("dmn-file"), current = select.value;
    var names = Object.keys(state.files).filter(function (n) { return /\.dmn$/.test(n); });
    config.catalog.decisions.forEach(function (d) { if (names.indexOf(d.file) < 0) { names.push(d.file); } });
    select.innerHTML = "";
    names.sort().forEach(function (name) {
      var option = document.createElement("option");
      option.value = option.textContent = name;
      select.appendChild(option);
    });
    var own = Object.keys(state.files).filter(function (n) { return /\.dmn$/.test(n); }).sort();
    if (current) { select.value = current; } else if (own.length) { select.value = own[0]; }
  }

  function openDmn(name) {
    return saveDmn().then(function () {
      if (state.files[name]) { return state.files[name]; }
      return api(config.urls.decision.replace("__NAME__", encodeURIComponent(name))).then(function (body) {
        state.files[name] = body.xml;
        return body.xml;
      });
    }).then(function (xml) {
      dmnOpen = name;
      return dmnModeler().importXML(xml);
    }).then(function () { $("dmn-canvas").dataset.ready = name; });
  }

  function newDmn() {
    var id = ($("dmn-new-id").value || "").trim();
    if (!/^[A-Za-z_][\w]*$/.test(id)) { status(S.badId, "error"); return; }
    var name = id + ".dmn";
    state.files[name] = '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="definitions_' + id + '" name="' + id +
      '" namespace="http://aftersales.example/dmn">\n  <decision id="' + id + '" name="' + id + '">\n' +
      '    <decisionTable id="table_' + id + '" hitPolicy="FIRST">\n' +
      '      <input id="input_1" label="input"><inputExpression id="input_expression_1" typeRef="string"><text>value</text></inputExpression></input>\n' +
      '      <output id="output_1" label="result" name="result" typeRef="string" />\n' +
      "    </decisionTable>\n  </decision>\n</definitions>\n";
    refreshDmnList();
    $("dmn-file").value = name;
    openDmn(name);
  }

  // -------------------------------------------------------------- forms: JSON with a live preview

  var previewTimer = null;

  function ensureForm(name) {
    if (state.forms[name] !== undefined) { return Promise.resolve(state.forms[name]); }
    return api(config.urls.form.replace("__NAME__", encodeURIComponent(name))).then(function (body) {
      if (body.form !== undefined) { state.forms[name] = body.form; }
      refreshFormList();
      return state.forms[name];
    });
  }

  function refreshFormList() {
    var select = $("form-file"), current = select.value;
    select.innerHTML = "";
    ctx.formNames().filter(function (n) { return n.indexOf("-uischema.json") < 0; }).forEach(function (name) {
      var option = document.createElement("option");
      option.value = option.textContent = name;
      select.appendChild(option);
    });
    if (current) { select.value = current; }
  }

  function uiNameOf(name) { return name.replace(/-schema\.json$/, "-uischema.json"); }

  function showForm(name) {
    $("form-file").value = name;
    return Promise.all([ensureForm(name), ensureForm(uiNameOf(name)).catch(function () { return undefined; })]).then(function (forms) {
      $("form-schema").value = JSON.stringify(forms[0] || {}, null, 2);
      $("form-ui").value = forms[1] !== undefined ? JSON.stringify(forms[1], null, 2) : "{}";
      $("form-editor").dataset.form = name;
      preview();
    });
  }

  function parsed(id) {
    try { return { value: JSON.parse($(id).value || "{}") }; } catch (err) { return { error: err.message }; }
  }

  function formEdited() {
    var name = $("form-editor").dataset.form;
    if (!name) { return; }
    var schema = parsed("form-schema"), ui = parsed("form-ui");
    $("form-json-error").textContent = schema.error ? S.badJson + " " + schema.error : ui.error ? S.badJson + " " + ui.error : "";
    if (schema.error || ui.error) { return; }
    state.forms[name] = schema.value;
    if (Object.keys(ui.value).length || state.forms[uiNameOf(name)] !== undefined) { state.forms[uiNameOf(name)] = ui.value; }
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 300);
  }

  function preview() {
    var name = $("form-editor").dataset.form;
    if (!name) { return; }
    var box = $("form-preview");
    api(config.urls.preview, { schema: state.forms[name], ui_schema: state.forms[uiNameOf(name)] || {} }).then(function (body) {
      if (body.ok) {
        box.innerHTML = body.html;
      } else {
        box.textContent = body.error || S.previewFailed;
      }
      box.dataset.updated = String(Date.now());
    });
  }

  function newForm() {
    var base = ($("form-new-name").value || "").trim().replace(/(-schema)?\.json$/, "");
    if (!/^[a-z0-9][a-z0-9-]*$/.test(base)) { status(S.badFormName, "error"); return; }
    var name = base + "-schema.json";
    if (ctx.formNames().indexOf(name) >= 0) { status(S.formExists, "error"); return; }
    state.forms[name] = { title: base, type: "object", required: [], properties: {} };
    state.forms[uiNameOf(name)] = { "ui:order": [] };
    refreshFormList();
    showForm(name);
    // The selected user task gets the new form at once.
    var selected = modeler.get("selection").get()[0];
    if (selected && /UserTask|ManualTask|StartEvent/.test(selected.type)) {
      var panel = window.AftersalesPanel;
      if (!panel.propertyValue(selected.businessObject, "formJsonSchemaFilename")) {
        setForm(selected, name);
      }
    }
  }

  function setForm(element, name) {
    // Through the panel's own entry, so that it is one more undoable command.
    var modeling = modeler.get("modeling"), factory = modeler.get("bpmnFactory");
    var bo = element.businessObject, ee = bo.get("extensionElements");
    if (!ee) {
      ee = factory.create("bpmn:ExtensionElements", { values: [] });
      ee.$parent = bo;
      modeling.updateProperties(element, { extensionElements: ee });
    }
    var props = window.AftersalesPanel.findExt(bo, "spiffworkflow:Properties");
    if (!props) {
      props = factory.create("spiffworkflow:Properties", { properties: [] });
      props.$parent = ee;
      modeling.updateModdleProperties(element, ee, { values: ee.get("values").concat([props]) });
    }
    var list = props.get("properties").filter(function (p) { return !/^form(Json|Ui)SchemaFilename$/.test(p.name); });
    [["formJsonSchemaFilename", name], ["formUiSchemaFilename", uiNameOf(name)]].forEach(function (pair) {
      var p = factory.create("spiffworkflow:Property", { name: pair[0], value: pair[1] });
      p.$parent = props;
      list.push(p);
    });
    modeling.updateModdleProperties(element, props, { properties: list });
  }

  // -------------------------------------------------------------- import: a draft from files

  var BPMN_URI = "http://www.omg.org/spec/BPMN/20100524/MODEL";
  var DIAGRAM_FILE = /\.(bpmn|bpmn20\.xml)$/i;

  function readFiles(fileList) {
    return Promise.all(Array.prototype.map.call(fileList, function (file) {
      return file.text().then(function (text) { return { name: file.name, text: text }; });
    }));
  }

  // Every executable process of the diagrams: {file, id, name, called (by a call activity)}.
  function executableProcesses(files) {
    var found = [], called = {};
    Object.keys(files).filter(function (n) { return DIAGRAM_FILE.test(n); }).sort().forEach(function (file) {
      var doc = new DOMParser().parseFromString(files[file], "application/xml");
      Array.prototype.forEach.call(doc.getElementsByTagNameNS(BPMN_URI, "callActivity"), function (el) {
        if (el.getAttribute("calledElement")) { called[el.getAttribute("calledElement")] = true; }
      });
      Array.prototype.forEach.call(doc.getElementsByTagNameNS(BPMN_URI, "process"), function (el) {
        if ((el.getAttribute("isExecutable") || "true").toLowerCase() !== "false") {
          found.push({ file: file, id: el.getAttribute("id"), name: el.getAttribute("name") || el.getAttribute("id") });
        }
      });
    });
    found.forEach(function (p) { p.called = !!called[p.id]; });
    return found;
  }

  // Which process is the definition's own (the others are called by it); resolves to one or null.
  function askMainProcess(processes) {
    return new Promise(function (resolve) {
      var dialog = document.createElement("dialog");
      dialog.id = "main-process-dialog";
      dialog.className = "lane-roles-dialog";
      var form = document.createElement("form");
      form.method = "dialog";
      var title = document.createElement("h2");
      title.textContent = S.mainTitle;
      var intro = document.createElement("p");
      intro.textContent = S.mainIntro;
      form.appendChild(title);
      form.appendChild(intro);
      var preferred = processes.filter(function (p) { return !p.called; })[0] || processes[0];
      processes.forEach(function (p, index) {
        var label = document.createElement("label");
        label.className = "choice";
        var radio = document.createElement("input");
        radio.type = "radio";
        radio.name = "main";
        radio.value = String(index);
        radio.dataset.process = p.id;
        radio.checked = p === preferred;
        var text = document.createElement("span");
        text.setAttribute("translate", "no");
        text.textContent = p.name + " (" + p.id + ", " + p.file + ")" + (p.called ? " · " + S.calledByAnother : "");
        label.appendChild(radio);
        label.appendChild(text);
        form.appendChild(label);
      });
      var buttons = document.createElement("div");
      buttons.className = "actions";
      [["ok", S.mainOpen, "button primary"], ["cancel", S.cancel, "button"]].forEach(function (b) {
        var button = document.createElement("button");
        button.type = "submit";
        button.value = b[0];
        button.className = b[2];
        button.textContent = b[1];
        buttons.appendChild(button);
      });
      form.appendChild(buttons);
      dialog.appendChild(form);
      document.body.appendChild(dialog);
      dialog.addEventListener("close", function () {
        var checked = dialog.querySelector("input[name=main]:checked");
        var chosen = dialog.returnValue === "ok" && checked ? processes[Number(checked.value)] : null;
        dialog.remove();
        resolve(chosen);
      });
      dialog.showModal();
    });
  }

  // The chosen process first in its file, so that deploy takes it as the key's.
  function mainProcessFirst(xml, id) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    var all = Array.prototype.slice.call(doc.getElementsByTagNameNS(BPMN_URI, "process"));
    var chosen = all.filter(function (el) { return el.getAttribute("id") === id; })[0];
    if (!chosen || all[0] === chosen) { return xml; }
    all[0].parentNode.insertBefore(chosen, all[0]);
    var text = new XMLSerializer().serializeToString(doc);
    var declaration = /^<\?xml[^>]*\?>\s*/.exec(xml);
    return declaration && text.indexOf("<?xml") !== 0 ? declaration[0] + text : text;
  }

  // Files (one or several, a folder's worth) become the working set of a new draft: diagrams,
  // decision tables and form files (*.json); anything else is left out and said so.
  function importFiles(list) {
    var files = {}, forms = {}, skipped = [];
    list.forEach(function (f) {
      if (DIAGRAM_FILE.test(f.name) || /\.dmn$/i.test(f.name)) {
        files[f.name] = f.text;
      } else if (/\.json$/i.test(f.name)) {
        try { forms[f.name] = JSON.parse(f.text); } catch (err) { skipped.push(f.name); }
      } else {
        skipped.push(f.name);
      }
    });
    var processes = executableProcesses(files);
    if (!processes.length) {
      status(S.importNoProcess, "error");
      return Promise.resolve(null);
    }
    var choose = processes.length > 1 ? askMainProcess(processes) : Promise.resolve(processes[0]);
    return choose.then(function (chosen) {
      if (!chosen) { status(S.importCancelled); return null; }
      files[chosen.file] = mainProcessFirst(files[chosen.file], chosen.id);
      clearProblems();
      $("problems").innerHTML = "";
      state.files = files;
      state.forms = forms;
      state.main = chosen.file;
      state.original = { files: {}, forms: {} };
      state.dmnDirty = {};
      state.laneRoles = {};
      state.imported = true;
      dmnOpen = null;
      config.key = null;
      config.version = null;
      var heading = document.querySelector(".page-head h1");
      if (heading) {
        heading.textContent = S.importedDraft.replace("%(name)s", chosen.name);
        heading.dataset.name = chosen.name;
      }
      return showDiagram(files[chosen.file]).then(function () {
        // forms the diagram names but the files did not bring: the deployed ones, if any
        var named = (formsNamedInDiagram() || []).filter(function (n) {
          return state.forms[n] === undefined && config.catalog.forms.indexOf(n) >= 0;
        });
        return Promise.all(named.map(function (n) { return ensureForm(n).catch(function () { return null; }); }));
      }).then(function () {
        status(S.imported.replace("%(count)s", Object.keys(files).length + Object.keys(forms).length) +
          (skipped.length ? " " + S.importSkipped.replace("%(files)s", skipped.join(", ")) : ""), "ok");
        return mapImportedLanes();
      }).then(function () {
        // the validation's verdict replaced the import's note: name what was left out again
        if (skipped.length) { $("modeler-status").textContent += " " + S.importSkipped.replace("%(files)s", skipped.join(", ")); }
        document.body.dataset.imported = chosen.id;
        return chosen;
      });
    });
  }

  // Lanes that match no role: mapped to roles in the dialog right away; deploy sends the mapping.
  function mapImportedLanes() {
    return workingSet(false).then(function (set) {
      return api(config.urls.validate, { files: set.files, forms: set.forms, main: set.main, lane_roles: {} });
    }).then(function (body) {
      if (!body.unmapped_lanes || !body.unmapped_lanes.length) { return validate(); }
      return askLaneRoles(body.unmapped_lanes, {}, S.laneRolesApply).then(function (mapping) {
        state.laneRoles = mapping || {};
        return validate();
      });
    });
  }

  function importChosen(input) {
    if (!input.files || !input.files.length) { return; }
    readFiles(input.files).then(importFiles).finally(function () { input.value = ""; });
  }

  // From the process list: the files wait in this tab's session storage for the new draft.
  function importWaiting() {
    if (!/[?&]import=1\b/.test(window.location.search)) { return Promise.resolve(); }
    var waiting = window.sessionStorage.getItem("aftersales-import");
    window.sessionStorage.removeItem("aftersales-import");
    return waiting ? importFiles(JSON.parse(waiting)) : Promise.resolve();
  }

  // -------------------------------------------------------------- tabs and buttons

  function showTab(name) {
    document.querySelectorAll("[role=tab]").forEach(function (tab) {
      var on = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      $(tab.getAttribute("aria-controls")).hidden = !on;
    });
    if (name === "dmn" && !dmnOpen && $("dmn-file").value) { openDmn($("dmn-file").value); }
    if (name === "forms") {
      var selected = modeler.get("selection").get()[0];
      var chosen = selected && window.AftersalesPanel.propertyValue(selected.businessObject, "formJsonSchemaFilename");
      if (chosen) { showForm(chosen); } else if (!$("form-editor").dataset.form && $("form-file").value) { showForm($("form-file").value); }
    }
  }

  document.querySelectorAll("[role=tab]").forEach(function (tab) {
    tab.addEventListener("click", function () { showTab(tab.dataset.tab); });
  });
  $("validate").addEventListener("click", function () { validate(); });
  if ($("deploy")) { $("deploy").addEventListener("click", function () { deploy(false); }); }
  $("download").addEventListener("click", function () {
    workingSet(true).then(function () {
      var link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([state.files[state.main]], { type: "application/xml" }));
      link.download = mainProcessName() + ".bpmn";
      link.click();
    });
  });
  if ($("import-files")) {
    $("import-files").addEventListener("change", function () { importChosen($("import-files")); });
    $("import-folder").addEventListener("change", function () { importChosen($("import-folder")); });
  }
  if ($("simulate")) {
    $("simulate").addEventListener("click", function () {
      modeler.get("toggleMode").toggleMode();
    });
    modeler.on("tokenSimulation.toggleMode", function (event) {
      $("simulate").setAttribute("aria-pressed", event.active ? "true" : "false");
      document.body.dataset.simulation = event.active ? "on" : "off";
    });
  }
  $("dmn-file").addEventListener("change", function () { openDmn($("dmn-file").value); });
  $("dmn-new").addEventListener("click", newDmn);
  $("form-file").addEventListener("change", function () { showForm($("form-file").value); });
  $("form-new").addEventListener("click", newForm);
  $("form-schema").addEventListener("input", formEdited);
  $("form-ui").addEventListener("input", formEdited);

  window.aftersalesModeler = {
    modeler: modeler, state: state, workingSet: workingSet, validate: validate, deploy: deploy,
    showForm: showForm, openDmn: openDmn, importFiles: importFiles, fitToView: fitToView,
    ready: open().then(importWaiting)
  };
})();
