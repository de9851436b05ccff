// Starts the API viewer on /docs from this server's own copy of Swagger UI (no CDN: hospital
// networks are closed), reading the server's OpenAPI document.
window.addEventListener("load", function () {
  window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // no badge fetched from an outside validator
    presets: [window.SwaggerUIBundle.presets.apis],
  });
});
