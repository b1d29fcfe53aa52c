// The API reference: Swagger UI served by the app itself (the fastapi-offline package's copy),
// started from this file because the pages' security policy runs no inline script. No validator
// badge (it would call an outside server), nothing fetched but the app's own OpenAPI document.
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    tryItOutEnabled: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
