// LSQ portal: small progressive enhancements only; every page works without script.
// (No inline script anywhere: the Content-Security-Policy allows only this file and htmx.)
document.addEventListener("DOMContentLoaded", function () {
  // Confirm destructive actions named by data-confirm (erase my contact, revoke, reject).
  document.body.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  // Print buttons (desk QR code sheets).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
});
// htmx: show the server's error fragment instead of nothing when a request fails with 4xx/5xx.
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  if (status >= 400 && status < 600 && event.detail.xhr.responseText) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
