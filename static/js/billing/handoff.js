// Stripe Checkout and the customer portal refuse to be framed, and GoCSM runs inside
// GoHighLevel's iframe. So the form is posted from here (where the session cookie lives) and the
// returned Stripe URL opens in a new tab. The tab is opened during the click, before the fetch,
// because browsers block pop-ups opened later.
(function () {
  "use strict";
  var errorBox = document.querySelector("[data-billing-error]");

  function showError(message) {
    if (!errorBox) return;
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  document.querySelectorAll("form[data-billing-handoff]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var tab = window.open("about:blank", "_blank");
      var button = form.querySelector("button");
      if (button) button.disabled = true;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.json().then(function (body) {
            return { ok: response.ok, body: body };
          });
        })
        .then(function (result) {
          if (result.ok && result.body.url) {
            if (tab) {
              tab.opener = null;
              tab.location.href = result.body.url;
            } else {
              window.location.href = result.body.url;
            }
          } else {
            if (tab) tab.close();
            showError(result.body.message || "Something went wrong. Please try again.");
          }
        })
        .catch(function () {
          if (tab) tab.close();
          showError("GoCSM could not be reached. Please try again.");
        })
        .finally(function () {
          if (button) button.disabled = false;
        });
    });
  });
})();
