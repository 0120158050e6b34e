/* Keeps the import progress of the status area current (templates/sync/_status.html). A file of
   our own because the CSP allows no inline script. While an import runs it polls the status
   endpoint, moves the bar and the "N of M" text, and once the import has finished reloads the
   page so every figure shows complete; if the person has started typing in a form it offers the
   reload instead of throwing their input away. */
(function () {
  "use strict";
  var box = document.getElementById("sync-status");
  if (!box || !box.hasAttribute("data-importing") || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var message = box.querySelector("[data-sync-message]");
  var bar = box.querySelector("progress");
  var every = 5000;
  var delay = every;
  var typed = false;
  document.addEventListener("input", function () { typed = true; });

  function finished() {
    if (!typed) {
      window.location.reload();
      return;
    }
    if (bar) { bar.value = 100; }
    if (message) {
      message.textContent = "Finished. ";
      var link = document.createElement("a");
      link.href = window.location.href;
      link.textContent = "Reload to see the complete figures";
      message.appendChild(link);
    }
  }

  function show(status) {
    if (message) { message.textContent = status.message; }
    if (bar && typeof status.percent === "number") {
      bar.value = status.percent;
      bar.textContent = status.percent + " %";
    }
  }

  function poll() {
    if (document.hidden) {
      window.setTimeout(poll, every);
      return;
    }
    window.fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 401 || response.status === 403 || response.status === 404) {
        return null; /* signed out or gone: stop asking */
      }
      if (!response.ok) { throw new Error("status " + response.status); }
      return response.json().then(function (status) {
        delay = every;
        if (!status.importing) {
          finished();
          return;
        }
        show(status);
        window.setTimeout(poll, delay);
      });
    }).catch(function () {
      delay = Math.min(delay * 2, 60000); /* the server is busy or away: ask less often */
      window.setTimeout(poll, delay);
    });
  }

  window.setTimeout(poll, every);
}());
