#!/usr/bin/env bash
# Copy the browser builds of our npm dependencies to webapp/static/vendor (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
out=webapp/static/vendor
rm -rf "$out" && mkdir -p "$out/bpmn-js"
cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js "$out/bpmn-js/"
cp node_modules/bpmn-js/dist/bpmn-modeler.production.min.js "$out/bpmn-js/"
cp -r node_modules/bpmn-js/dist/assets "$out/bpmn-js/assets"
