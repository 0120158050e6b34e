// GHL SSO bootstrap: ask the parent (GoHighLevel) for the encrypted user payload, then sign in.
// Only a REQUEST_USER_DATA_RESPONSE from the parent window itself AND from an allowed origin
// (GHL's app origins, installed agencies' white-label domains) is accepted.
(function () {
  "use strict";

  var status = document.getElementById("sso-status");
  var config = JSON.parse(document.getElementById("sso-config").textContent);
  var messages = {
    outside: "Open GoCSM from the menu inside GoHighLevel to sign in.",
    failed: "We could not sign you in. Please reopen GoCSM from GoHighLevel.",
    busy: "Too many sign-in attempts. Please wait a few minutes and try again.",
    unavailable: "GoCSM is temporarily unavailable. Please try again shortly.",
    timeout: "GoHighLevel did not answer. Please reopen GoCSM from its menu.",
    signing: "Signing you in…"
  };

  function show(state) {
    status.setAttribute("data-state", state);
    status.textContent = messages[state];
  }

  if (window.parent === window) {
    show("outside");
    return;
  }

  var allowed = config.allowedOrigins || [];
  var started = false;

  function isSafeNext(next) {
    // Only a path on our own origin: never "//host" or a scheme.
    return typeof next === "string" && next.charAt(0) === "/" && next.charAt(1) !== "/" &&
      next.indexOf("\\") === -1;
  }

  function signIn(payload) {
    show("signing");
    fetch(config.ssoUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ payload: payload })
    }).then(function (response) {
      if (response.status === 429) { throw new Error("busy"); }
      if (response.status === 503) { throw new Error("unavailable"); }
      if (!response.ok) { throw new Error("failed"); }
      return response.json();
    }).then(function (body) {
      if (!body || !isSafeNext(body.next)) { throw new Error("failed"); }
      window.location.replace(body.next);
    }).catch(function (err) {
      show(messages[err && err.message] ? err.message : "failed");
    });
  }

  window.addEventListener("message", function (event) {
    if (started) { return; }
    if (event.source !== window.parent) { return; }
    if (allowed.indexOf(event.origin) === -1) { return; }
    var data = event.data;
    if (!data || typeof data !== "object" || data.message !== "REQUEST_USER_DATA_RESPONSE") { return; }
    if (typeof data.payload !== "string" || data.payload.length === 0) { return; }
    started = true;
    signIn(data.payload);
  });

  // The request carries nothing secret, so any parent may receive it; the answer is what we check.
  window.parent.postMessage({ message: "REQUEST_USER_DATA" }, "*");
  window.setTimeout(function () {
    if (!started) { show("timeout"); }
  }, 15000);
})();
