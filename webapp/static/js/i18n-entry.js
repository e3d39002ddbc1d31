// Chinese words for bpmn-js and bpmn-js-properties-panel from the npm package bpmn-js-i18n-zh.
// scripts/vendor_assets.sh bundles this file into webapp/static/vendor/i18n/bpmn-zh.js (global
// `BpmnZh`); webapp/static/js/translate.js uses it on the modeler and on every diagram viewer.
import bpmn from "bpmn-js-i18n-zh/lib/bpmn-js";
import panel from "bpmn-js-i18n-zh/lib/properties-panel";

export const words = { ...bpmn, ...panel };
