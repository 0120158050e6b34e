// Development GHL shell: answers the framed app's REQUEST_USER_DATA with the payload the server
// encrypted for the chosen person, as GoHighLevel's own parent page does.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("shell-config").textContent);
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
