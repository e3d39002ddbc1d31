#!/usr/bin/env bash
# Copy the browser builds of our npm dependencies to webapp/static/vendor (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
out=webapp/static/vendor
rm -rf "$out" && mkdir -p "$out/bpmn-js"
cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js "$out/bpmn-js/"
cp node_modules/bpmn-js/dist/bpmn-modeler.production.min.js "$out/bpmn-js/"
cp -r node_modules/bpmn-js/dist/assets "$out/bpmn-js/assets"

# The process owners' modeler: bpmn-js Modeler + properties panel have no joint browser build,
# so esbuild bundles them (one preact for both) from webapp/static/modeler/vendor-entry.js.
mkdir -p "$out/modeler" "$out/dmn-js"
node_modules/.bin/esbuild webapp/static/modeler/vendor-entry.js --bundle --minify --format=iife \
  --global-name=ModelerVendor --target=es2019 --log-level=warning --define:process.env.NODE_ENV='"production"' \
  --outfile="$out/modeler/modeler-vendor.js"
cp node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css "$out/modeler/"
cp node_modules/bpmn-js-token-simulation/assets/css/bpmn-js-token-simulation.css "$out/modeler/"

# Chinese labels for bpmn-js and its properties panel (npm: bpmn-js-i18n-zh), for the modeler
# and the viewers; webapp/static/js/translate.js adds ours and dmn-js's.
mkdir -p "$out/i18n"
node_modules/.bin/esbuild webapp/static/js/i18n-entry.js --bundle --minify --format=iife \
  --global-name=BpmnZh --target=es2019 --log-level=warning --outfile="$out/i18n/bpmn-zh.js"
node_modules/.bin/esbuild webapp/static/modeler/dmn-entry.js --bundle --minify --format=iife --target=es2019 \
  --log-level=warning --define:process.env.NODE_ENV='"production"' --outfile="$out/dmn-js/dmn-modeler.js"
cp -r node_modules/dmn-js/dist/assets "$out/dmn-js/assets"

# The managers' dashboard: Chart.js (its UMD build defines window.Chart).
mkdir -p "$out/chartjs"
cp node_modules/chart.js/dist/chart.umd.min.js "$out/chartjs/"

# The API reference at /api/docs: Swagger UI's browser build (npm: swagger-ui-dist).
mkdir -p "$out/swagger-ui"
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css "$out/swagger-ui/"
