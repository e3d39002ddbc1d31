// dmn-js' Modeler as a production build (scripts/vendor_assets.sh bundles this file with esbuild
// into webapp/static/vendor/dmn-js/dmn-modeler.js). The dist file dmn-js ships carries a
// development build of Inferno, which says so in the console on every page load.
import DmnModeler from "dmn-js/lib/Modeler";

window.DmnJS = DmnModeler;
