// Nothing of a diagram is lost by opening and saving it in the modeler.
//
// bpmn-js keeps foreign attributes and elements of namespaces it does not know as they are.
// Our panel declares the spiffworkflow namespace to bpmn-js (panel.js) so that it can read and
// write the properties it models as objects; moddle then drops every spiffworkflow element it
// has no type for (SpiffArena's `unitTests`, `taskMetadataValues`, `category`,
// `variableName`, ...). So before the import each such element (with its whole subtree) is
// moved to a namespace of its own that bpmn-js does not know, which it keeps untouched, and
// after the save it is moved back. Written by hand: bpmn-js has no option for this.
(function () {
  "use strict";
  var SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  var KEPT = "http://aftersales.example/modeler/kept-spiffworkflow";
  var KEPT_PREFIX = "spiffkept";
  var XMLNS = "http://www.w3.org/2000/xmlns/";

  function modelled() {
    return window.AftersalesPanel.moddle.types.map(function (t) { return t.name.charAt(0).toLowerCase() + t.name.slice(1); });
  }

  function parse(xml) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    return doc.getElementsByTagName("parsererror").length ? null : doc;
  }

  function serialize(doc, original) {
    var text = new XMLSerializer().serializeToString(doc);
    var declaration = /^<\?xml[^>]*\?>\s*/.exec(original);
    if (declaration && text.indexOf("<?xml") !== 0) { text = declaration[0] + text; }
    return text;
  }

  function moveTo(el, uri, prefix) {
    var copy = el.ownerDocument.createElementNS(uri, prefix ? prefix + ":" + el.localName : el.localName);
    Array.prototype.forEach.call(el.attributes, function (a) {
      if (a.namespaceURI) { copy.setAttributeNS(a.namespaceURI, a.name, a.value); } else { copy.setAttribute(a.name, a.value); }
    });
    while (el.firstChild) { copy.appendChild(el.firstChild); }
    el.parentNode.replaceChild(copy, el);
    return copy;
  }

  // The outermost spiffworkflow element above `el` (its parent is of another namespace).
  function outermost(el) {
    while (el.parentNode && el.parentNode.namespaceURI === SPIFF) { el = el.parentNode; }
    return el;
  }

  function shelter(xml) {
    if (xml.indexOf(SPIFF) < 0) { return xml; }
    var doc = parse(xml);
    if (!doc) { return xml; }
    var known = modelled(), tops = [];
    Array.prototype.forEach.call(doc.getElementsByTagNameNS(SPIFF, "*"), function (el) {
      if (known.indexOf(el.localName) < 0) {
        var top = outermost(el);
        if (tops.indexOf(top) < 0) { tops.push(top); }
      }
    });
    if (!tops.length) { return xml; }
    tops.forEach(function (el) { moveTo(el, KEPT, KEPT_PREFIX); });
    return serialize(doc, xml);
  }

  function restore(xml) {
    if (xml.indexOf(KEPT) < 0) { return xml; }
    var doc = parse(xml);
    if (!doc) { return xml; }
    var root = doc.documentElement;
    var prefix = root.lookupPrefix(SPIFF);
    if (!prefix) { prefix = "spiffworkflow"; root.setAttributeNS(XMLNS, "xmlns:" + prefix, SPIFF); }
    Array.prototype.slice.call(doc.getElementsByTagNameNS(KEPT, "*")).forEach(function (el) { moveTo(el, SPIFF, prefix); });
    Array.prototype.forEach.call(doc.getElementsByTagName("*"), function (el) {
      Array.prototype.slice.call(el.attributes).forEach(function (a) {
        if (a.namespaceURI === XMLNS && a.value === KEPT) { el.removeAttributeNode(a); }
      });
    });
    return serialize(doc, xml);
  }

  window.Lossless = { shelter: shelter, restore: restore };
})();
