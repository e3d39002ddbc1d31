// Starts Swagger UI on /api/docs with the generated document (an external file: the
// Content-Security-Policy allows no inline script).
(function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // no call to swagger.io's online validator
  });
})();
