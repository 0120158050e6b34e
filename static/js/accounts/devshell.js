// Development GHL shell: answers the framed app's REQUEST_USER_DATA with the payload the server
// encrypted for the chosen person, as GoHighLevel's own parent page does.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("shell-config").textContent);
  if (config.locationPath && config.payload) {
    // A sub-account page: the address GHL shows there, and the payload GHL hands to the
    // agency's Custom JS (our tracker, loaded after this script).
    window.history.replaceState(null, "", config.locationPath);
    window.exposeSessionDetails = function (appId) {
      return Promise.resolve(appId === config.appId ? config.payload : null);
    };
    return;
  }
  var frame = document.getElementById("gocsm-frame");
  if (!frame || !config.payload) { return; }

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== config.appOrigin) { return; }
    if (!event.data || event.data.message !== "REQUEST_USER_DATA") { return; }
    frame.contentWindow.postMessage(
      { message: "REQUEST_USER_DATA_RESPONSE", payload: config.payload },
      config.appOrigin
    );
  });
})();
