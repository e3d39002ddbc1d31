// Our properties for bpmn-js-properties-panel: what the after-sales engine reads of a diagram.
// Lane -> role, user-task form files and instructions, service-task operator and parameters,
// gateway conditions and default flows, called decisions (DMN), call activities, scripts.
// Written against window.ModelerVendor (webapp/static/modeler/vendor-entry.js); no build step.
(function () {
  "use strict";
  var V = window.ModelerVendor;
  var h = V.h;

  // The spiffworkflow extension elements, so that bpmn-js reads and writes them as objects.
  var SPIFF = {
    name: "SpiffWorkflow",
    uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
    prefix: "spiffworkflow",
    xml: { tagAlias: "lowerCase" },
    types: [
      { name: "Properties", superClass: ["Element"], properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"], properties: [
        { name: "name", isAttr: true, type: "String" }, { name: "value", isAttr: true, type: "String" }] },
      { name: "InstructionsForEndUser", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "ServiceTaskOperator", superClass: ["Element"], properties: [
        { name: "id", isAttr: true, type: "String" }, { name: "resultVariable", isAttr: true, type: "String" },
        { name: "parameters", type: "Parameters" }] },
      { name: "Parameters", superClass: ["Element"], properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
      { name: "Parameter", superClass: ["Element"], properties: [
        { name: "id", isAttr: true, type: "String" }, { name: "type", isAttr: true, type: "String" },
        { name: "value", isAttr: true, type: "String" }] },
      { name: "CalledDecisionId", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "PreScript", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "PostScript", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "ProcessVariableCorrelation", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "MessagePayload", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] },
      { name: "MessageVariable", superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] }
    ]
  };

  function is(bo, type) { return bo && bo.$instanceOf && bo.$instanceOf(type); }

  function findExt(bo, type) {
    var ee = bo.get("extensionElements");
    if (!ee) { return null; }
    return (ee.get("values") || []).filter(function (v) { return is(v, type); })[0] || null;
  }

  // Find or create an extension element of `type` on the element's business object.
  function ensureExt(injector, element, type, attrs) {
    var modeling = injector.get("modeling"), factory = injector.get("bpmnFactory");
    var bo = element.businessObject, ee = bo.get("extensionElements");
    if (!ee) {
      ee = factory.create("bpmn:ExtensionElements", { values: [] });
      ee.$parent = bo;
      modeling.updateProperties(element, { extensionElements: ee });
    }
    var ext = findExt(bo, type);
    if (!ext) {
      ext = factory.create(type, attrs || {});
      ext.$parent = ee;
      modeling.updateModdleProperties(element, ee, { values: (ee.get("values") || []).concat([ext]) });
    }
    return ext;
  }

  function removeExt(injector, element, type) {
    var bo = element.businessObject, ee = bo.get("extensionElements"), ext = findExt(bo, type);
    if (ee && ext) {
      injector.get("modeling").updateModdleProperties(element, ee, {
        values: ee.get("values").filter(function (v) { return v !== ext; })
      });
    }
  }

  // -------------------------------------------------------------- generic entry components

  function TextArea(props) {
    return h(V.TextAreaEntry, {
      element: props.element, id: props.id, label: props.label, description: props.description,
      getValue: props.get, setValue: props.set, debounce: V.useService("debounceInput"), rows: props.rows || 3,
      monospace: props.monospace
    });
  }

  function TextField(props) {
    return h(V.TextFieldEntry, {
      element: props.element, id: props.id, label: props.label, description: props.description,
      getValue: props.get, setValue: props.set, debounce: V.useService("debounceInput")
    });
  }

  function Select(props) {
    return h(V.SelectEntry, {
      element: props.element, id: props.id, label: props.label, description: props.description,
      getValue: props.get, setValue: props.set, getOptions: props.options
    });
  }

  function Checkbox(props) {
    return h(V.CheckboxEntry, {
      element: props.element, id: props.id, label: props.label, description: props.description,
      getValue: props.get, setValue: props.set
    });
  }

  function Hint(props) {
    return h("div", { class: "bio-properties-panel-entry aftersales-hint", "data-entry-id": props.id }, props.text);
  }

  function options(values, current, blank) {
    var seen = {}, list = [{ value: "", label: blank }];
    values.forEach(function (v) {
      var value = typeof v === "string" ? v : v.value;
      if (!seen[value]) { seen[value] = true; list.push(typeof v === "string" ? { value: v, label: v } : v); }
    });
    if (current && !seen[current]) { list.push({ value: current, label: current }); }
    return list;
  }

  // -------------------------------------------------------------- what each element offers

  function propertyValue(bo, name) {
    var props = findExt(bo, "spiffworkflow:Properties");
    var found = props && (props.get("properties") || []).filter(function (p) { return p.name === name; })[0];
    return found ? found.value || "" : "";
  }

  function setPropertyValue(injector, element, name, value) {
    var modeling = injector.get("modeling"), factory = injector.get("bpmnFactory");
    if (!value && !findExt(element.businessObject, "spiffworkflow:Properties")) { return; }
    var props = ensureExt(injector, element, "spiffworkflow:Properties", { properties: [] });
    var list = (props.get("properties") || []).filter(function (p) { return p.name !== name; });
    if (value) {
      var existing = (props.get("properties") || []).filter(function (p) { return p.name === name; })[0];
      if (existing) {
        modeling.updateModdleProperties(element, existing, { value: value });
        return;
      }
      var created = factory.create("spiffworkflow:Property", { name: name, value: value });
      created.$parent = props;
      list.push(created);
    }
    modeling.updateModdleProperties(element, props, { properties: list });
  }

  function bodyExt(injector, element, type, id, label, description, rows) {
    return {
      id: id, component: TextArea, isEdited: V.isTextAreaEntryEdited, label: label, description: description, rows: rows,
      get: function () { var ext = findExt(element.businessObject, type); return ext ? ext.value || "" : ""; },
      set: function (value) {
        if (!value) { removeExt(injector, element, type); return; }
        var ext = ensureExt(injector, element, type, { value: value });
        injector.get("modeling").updateModdleProperties(element, ext, { value: value });
      }
    };
  }

  function formEntries(element, injector, ctx) {
    var S = ctx.strings;
    var formFiles = function (suffix) {
      return ctx.formNames().filter(function (n) { return n.slice(-suffix.length) === suffix; });
    };
    return [
      {
        id: "aftersales-form-schema", component: Select, isEdited: V.isSelectEntryEdited, label: S.formSchema,
        description: S.formSchemaHint,
        options: function () { return options(formFiles("-schema.json").filter(function (n) { return n.indexOf("-uischema.json") < 0; }), propertyValue(element.businessObject, "formJsonSchemaFilename"), S.noForm); },
        get: function () { return propertyValue(element.businessObject, "formJsonSchemaFilename"); },
        set: function (value) {
          setPropertyValue(injector, element, "formJsonSchemaFilename", value);
          var ui = value ? value.replace(/-schema\.json$/, "-uischema.json") : "";
          if (ui && ctx.formNames().indexOf(ui) >= 0) { setPropertyValue(injector, element, "formUiSchemaFilename", ui); }
          if (!value) { setPropertyValue(injector, element, "formUiSchemaFilename", ""); }
          ctx.formChosen(value);
        }
      },
      {
        id: "aftersales-form-ui", component: Select, isEdited: V.isSelectEntryEdited, label: S.formUi,
        options: function () { return options(formFiles("-uischema.json"), propertyValue(element.businessObject, "formUiSchemaFilename"), S.noForm); },
        get: function () { return propertyValue(element.businessObject, "formUiSchemaFilename"); },
        set: function (value) { setPropertyValue(injector, element, "formUiSchemaFilename", value); }
      }
    ];
  }

  function operatorEntries(element, injector, ctx) {
    var S = ctx.strings, bo = element.businessObject;
    var operator = function () { return findExt(bo, "spiffworkflow:ServiceTaskOperator"); };
    return [
      {
        id: "aftersales-operator", component: Select, isEdited: V.isSelectEntryEdited, label: S.operator, description: S.operatorHint,
        options: function () { var op = operator(); return options(ctx.catalog.operators, op && op.id, S.choose); },
        get: function () { var op = operator(); return op ? op.id || "" : ""; },
        set: function (value) {
          var op = ensureExt(injector, element, "spiffworkflow:ServiceTaskOperator", { id: value });
          injector.get("modeling").updateModdleProperties(element, op, { id: value });
        }
      },
      {
        id: "aftersales-result", component: TextField, isEdited: V.isTextFieldEntryEdited, label: S.resultVariable,
        get: function () { var op = operator(); return op ? op.resultVariable || "" : ""; },
        set: function (value) {
          var op = ensureExt(injector, element, "spiffworkflow:ServiceTaskOperator", {});
          injector.get("modeling").updateModdleProperties(element, op, { resultVariable: value || undefined });
        }
      },
      {
        id: "aftersales-parameters", component: TextArea, isEdited: V.isTextAreaEntryEdited, label: S.parameters,
        description: S.parametersHint, rows: 6, monospace: true,
        get: function () {
          var op = operator(), params = op && op.parameters ? op.parameters.get("parameters") : [];
          return params.map(function (p) { return p.id + " = " + (p.value || ""); }).join("\n");
        },
        set: function (text) {
          var modeling = injector.get("modeling"), factory = injector.get("bpmnFactory");
          var op = ensureExt(injector, element, "spiffworkflow:ServiceTaskOperator", {});
          var old = {};
          (op.parameters ? op.parameters.get("parameters") : []).forEach(function (p) { old[p.id] = p.type; });
          var container = factory.create("spiffworkflow:Parameters", { parameters: [] });
          container.$parent = op;
          (text || "").split("\n").forEach(function (line) {
            var at = line.indexOf("=");
            if (at < 1) { return; }
            var name = line.slice(0, at).trim(), value = line.slice(at + 1).trim();
            if (!name) { return; }
            var param = factory.create("spiffworkflow:Parameter", { id: name, type: old[name] || "str", value: value });
            param.$parent = container;
            container.get("parameters").push(param);
          });
          modeling.updateModdleProperties(element, op, { parameters: container });
        }
      }
    ];
  }

  function conditionEntries(element, injector, ctx) {
    var S = ctx.strings, bo = element.businessObject, source = element.source;
    if (!source || !(is(source.businessObject, "bpmn:ExclusiveGateway") || is(source.businessObject, "bpmn:InclusiveGateway"))) {
      return [];
    }
    return [
      {
        id: "aftersales-condition", component: TextArea, isEdited: V.isTextAreaEntryEdited, label: S.condition,
        description: S.conditionHint, monospace: true,
        get: function () { return bo.conditionExpression ? bo.conditionExpression.body || "" : ""; },
        set: function (value) {
          var modeling = injector.get("modeling");
          if (!value) { modeling.updateProperties(element, { conditionExpression: undefined }); return; }
          var expr = injector.get("bpmnFactory").create("bpmn:FormalExpression", { body: value });
          modeling.updateProperties(element, { conditionExpression: expr });
        }
      },
      {
        id: "aftersales-default-flow", component: Checkbox, isEdited: V.isCheckboxEntryEdited, label: S.defaultFlow,
        get: function () { return source.businessObject.default === bo; },
        set: function (checked) {
          injector.get("modeling").updateProperties(source, { "default": checked ? bo : undefined });
        }
      }
    ];
  }

  function laneEntries(element, injector, ctx) {
    var S = ctx.strings, bo = element.businessObject;
    var roleCodes = ctx.catalog.roles.map(function (r) { return r.code; });
    return [{
      id: "aftersales-lane-role", component: Select, isEdited: V.isSelectEntryEdited, label: S.role, description: S.roleHint,
      options: function () {
        return options(ctx.catalog.roles.map(function (r) { return { value: r.code, label: r.name + " (" + r.code + ")" }; }),
          roleCodes.indexOf(bo.id) >= 0 ? bo.id : "", S.noRole);
      },
      get: function () { return roleCodes.indexOf(bo.id) >= 0 ? bo.id : ""; },
      set: function (code) {
        if (!code || code === bo.id) { return; }
        if (injector.get("elementRegistry").get(code)) { ctx.notice(S.roleTaken); return; }
        var role = ctx.catalog.roles.filter(function (r) { return r.code === code; })[0];
        var update = { id: code };
        if (!bo.name && role) { update.name = role.name; }
        injector.get("modeling").updateProperties(element, update);
      }
    }];
  }

  function decisionEntries(element, injector, ctx) {
    var S = ctx.strings;
    var entry = bodyExt(injector, element, "spiffworkflow:CalledDecisionId", "aftersales-decision", S.decision, S.decisionHint);
    entry.component = Select;
    entry.isEdited = V.isSelectEntryEdited;
    entry.options = function () { return options(ctx.decisionIds(), entry.get(), S.choose); };
    return [entry];
  }

  function callEntries(element, injector, ctx) {
    var S = ctx.strings, bo = element.businessObject;
    return [{
      id: "aftersales-called-element", component: Select, isEdited: V.isSelectEntryEdited, label: S.calledProcess,
      description: S.calledProcessHint,
      options: function () { return options(ctx.catalog.processes, bo.calledElement, S.choose); },
      get: function () { return bo.calledElement || ""; },
      set: function (value) { injector.get("modeling").updateProperties(element, { calledElement: value || undefined }); }
    }];
  }

  function scriptEntries(element, injector, ctx) {
    var S = ctx.strings, bo = element.businessObject;
    return [{
      id: "aftersales-script", component: TextArea, isEdited: V.isTextAreaEntryEdited, label: S.script, description: S.scriptHint,
      rows: 6, monospace: true,
      get: function () { return bo.script || ""; },
      set: function (value) { injector.get("modeling").updateProperties(element, { scriptFormat: "python", script: value || undefined }); }
    }];
  }

  function hasTimer(bo) {
    return (bo.eventDefinitions || []).some(function (d) { return is(d, "bpmn:TimerEventDefinition"); });
  }

  function entriesFor(element, injector, ctx) {
    var bo = element.businessObject, S = ctx.strings, entries = [];
    if (!bo || element.type === "label") { return entries; }
    if (is(bo, "bpmn:Lane")) { entries = entries.concat(laneEntries(element, injector, ctx)); }
    if (is(bo, "bpmn:UserTask") || is(bo, "bpmn:ManualTask") || (is(bo, "bpmn:StartEvent") && is(bo.$parent, "bpmn:Process"))) {
      entries = entries.concat(formEntries(element, injector, ctx));
    }
    if (is(bo, "bpmn:UserTask") || is(bo, "bpmn:ManualTask")) {
      entries.push(bodyExt(injector, element, "spiffworkflow:InstructionsForEndUser", "aftersales-instructions", S.instructions, S.instructionsHint, 4));
    }
    if (is(bo, "bpmn:ServiceTask")) { entries = entries.concat(operatorEntries(element, injector, ctx)); }
    if (is(bo, "bpmn:SequenceFlow")) { entries = entries.concat(conditionEntries(element, injector, ctx)); }
    if (is(bo, "bpmn:BusinessRuleTask")) { entries = entries.concat(decisionEntries(element, injector, ctx)); }
    if (is(bo, "bpmn:CallActivity")) { entries = entries.concat(callEntries(element, injector, ctx)); }
    if (is(bo, "bpmn:ScriptTask")) { entries = entries.concat(scriptEntries(element, injector, ctx)); }
    if (is(bo, "bpmn:Event") && hasTimer(bo)) { entries.push({ id: "aftersales-timer-hint", component: Hint, text: S.timerHint }); }
    return entries;
  }

  function module(ctx) {
    function AftersalesProvider(propertiesPanel, injector) {
      this.getGroups = function (element) {
        return function (groups) {
          var entries = entriesFor(element, injector, ctx);
          if (entries.length) {
            groups.splice(Math.min(1, groups.length), 0, { id: "aftersales", label: ctx.strings.group, component: V.Group, entries: entries });
          }
          // the panel's groups only use the translate service when given it ("Toggle section" ...)
          var translate = injector.get("translate");
          groups.forEach(function (group) { group.translate = group.translate || translate; });
          return groups;
        };
      };
      propertiesPanel.registerProvider(500, this);
    }
    AftersalesProvider.$inject = ["propertiesPanel", "injector"];
    return { __init__: ["aftersalesProvider"], aftersalesProvider: ["type", AftersalesProvider] };
  }

  window.AftersalesPanel = { moddle: SPIFF, module: module, findExt: findExt, propertyValue: propertyValue };
})();
