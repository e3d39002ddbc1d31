// The modeler's libraries as one browser build (scripts/vendor_assets.sh bundles this file with
// esbuild into webapp/static/vendor/modeler/modeler-vendor.js, global `ModelerVendor`). One copy
// of preact serves bpmn-js-properties-panel and our own property entries (webapp/static/modeler/).
export { default as Modeler } from "bpmn-js/lib/Modeler";
export { default as NavigatedViewer } from "bpmn-js/lib/NavigatedViewer";
export { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, useService } from "bpmn-js-properties-panel";
export {
  TextFieldEntry, TextAreaEntry, SelectEntry, CheckboxEntry, ListGroup, Group,
  isTextFieldEntryEdited, isTextAreaEntryEdited, isSelectEntryEdited, isCheckboxEntryEdited,
} from "@bpmn-io/properties-panel";
export { h, Fragment } from "@bpmn-io/properties-panel/preact";
export { useState, useEffect } from "@bpmn-io/properties-panel/preact/hooks";
// Token simulation (npm: bpmn-js-token-simulation): a quick look at the paths without data.
export { default as TokenSimulationModule } from "bpmn-js-token-simulation/lib/modeler";
