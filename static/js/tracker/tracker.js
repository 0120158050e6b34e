/*
 * GoCSM activity tracker (protocol v1), added by an agency as the GoCSM app's Custom JS in GHL.
 *
 * It reports that a signed-in GHL user is active in a sub-account and which coarse area of GHL
 * they are in. Each beacon holds exactly {payload, location_id, feature, event, v}:
 *   payload      GHL's encrypted user payload from window.exposeSessionDetails(APP_ID)
 *   location_id  the sub-account id, read from the route path (/v2/location/<id>/...)
 *   feature      a coarse area name derived from the route path (never the path itself)
 *   event        "load" (app opened), "route" (area or sub-account changed), "heartbeat"
 * It reads only location.pathname: never the query string, the hash, page content, contact ids
 * or titles, and fetch() is told to send no Referer and no cookies.
 * Beacons are simple CORS requests (text/plain, no credentials): no preflight is needed.
 * No eval, no inline code, no DOM changes: it works under a strict CSP that allows our origin.
 */
(function () {
  "use strict";

  // Filled in by the server when it serves this file (sync/activity_views.py).
  var APP_ID = "__GOCSM_APP_ID__";
  var ENDPOINT = "__GOCSM_ENDPOINT__";
  var PROTOCOL = 1;
  var HEARTBEAT_MS = "__GOCSM_HEARTBEAT_MS__";
  var ROUTE_SETTLE_MS = 400;

  if (window.__gocsmTracker || typeof window.fetch !== "function") {
    return;
  }
  window.__gocsmTracker = PROTOCOL;

  // First path segment after the sub-account id -> coarse feature. Anything else is "other".
  var FEATURES = {
    dashboard: "dashboard",
    conversations: "conversations",
    inbox: "conversations",
    calendars: "calendars",
    calendar: "calendars",
    appointments: "calendars",
    contacts: "contacts",
    opportunities: "opportunities",
    pipelines: "opportunities",
    payments: "payments",
    invoices: "payments",
    automation: "workflows",
    workflows: "workflows",
    workflow: "workflows",
    triggers: "workflows",
    campaigns: "workflows",
    "funnels-websites": "sites",
    sites: "sites",
    websites: "sites",
    funnels: "sites",
    blogs: "sites",
    memberships: "sites",
    "form-builder": "sites",
    "survey-builder": "sites",
    reputation: "reputation",
    reviews: "reputation",
    reporting: "reporting",
    reports: "reporting",
    attribution: "reporting",
    settings: "settings"
  };
  var ROUTE = /^\/(?:v2\/)?location\/([A-Za-z0-9_-]{1,64})(?:\/([A-Za-z0-9_-]+))?/;

  var current = { locationId: null, feature: null };
  var payloadFor = null;
  var payloadPromise = null;
  var pausedUntil = 0;
  var stopped = false;
  var settleTimer = null;

  function routeOf(pathname) {
    var match = ROUTE.exec(pathname || "");
    if (!match) {
      return { locationId: null, feature: null };
    }
    var segment = (match[2] || "dashboard").toLowerCase();
    return {
      locationId: match[1],
      feature: Object.prototype.hasOwnProperty.call(FEATURES, segment) ? FEATURES[segment] : "other"
    };
  }

  function payloadForLocation(locationId) {
    // The payload names the active sub-account, so it is fetched again when that changes.
    if (payloadPromise && payloadFor === locationId) {
      return payloadPromise;
    }
    payloadFor = locationId;
    payloadPromise = Promise.resolve()
      .then(function () {
        return typeof window.exposeSessionDetails === "function"
          ? window.exposeSessionDetails(APP_ID)
          : null;
      })
      .then(function (value) {
        return typeof value === "string" && value ? value : null;
      })
      .catch(function () {
        return null;
      });
    payloadPromise.then(function (value) {
      if (value === null && payloadFor === locationId) {
        payloadPromise = null; // try again on the next beacon
      }
    });
    return payloadPromise;
  }

  function send(event) {
    if (stopped || Date.now() < pausedUntil) {
      return;
    }
    var route = { locationId: current.locationId, feature: current.feature };
    if (!route.locationId) {
      return; // agency-level pages have no sub-account to credit
    }
    payloadForLocation(route.locationId).then(function (payload) {
      if (!payload) {
        return;
      }
      var body = JSON.stringify({
        payload: payload,
        location_id: route.locationId,
        feature: route.feature,
        event: event,
        v: PROTOCOL
      });
      window
        .fetch(ENDPOINT, {
          method: "POST",
          body: body,
          headers: { "Content-Type": "text/plain;charset=UTF-8" },
          credentials: "omit",
          mode: "cors",
          keepalive: true,
          referrerPolicy: "no-referrer",
          cache: "no-store"
        })
        .then(function (response) {
          if (response.status === 403) {
            stopped = true; // not an installed agency or sub-account: stay quiet
          } else if (response.status === 429 || response.status === 503) {
            var wait = parseInt(response.headers.get("Retry-After") || "60", 10);
            pausedUntil = Date.now() + Math.min(Math.max(wait, 1), 600) * 1000;
          }
        })
        .catch(function () {});
    });
  }

  function onRoute() {
    var next = routeOf(window.location.pathname);
    if (next.locationId === current.locationId && next.feature === current.feature) {
      return; // same area (a query or hash change): nothing to report
    }
    var first = current.locationId === null;
    current = next;
    send(first ? "load" : "route");
    restartHeartbeat();
  }

  function routeChanged() {
    // Routers often push then replace in one navigation; report where it settles.
    if (settleTimer) {
      window.clearTimeout(settleTimer);
    }
    settleTimer = window.setTimeout(function () {
      settleTimer = null;
      onRoute();
    }, ROUTE_SETTLE_MS);
  }

  var heartbeat = null;
  function restartHeartbeat() {
    if (heartbeat) {
      window.clearInterval(heartbeat);
    }
    heartbeat = window.setInterval(function () {
      if (document.visibilityState === "visible") {
        send("heartbeat");
      }
    }, HEARTBEAT_MS);
  }

  function hook(name) {
    var original = window.history[name];
    if (typeof original !== "function") {
      return;
    }
    window.history[name] = function () {
      var result = original.apply(this, arguments);
      try {
        routeChanged();
      } catch (ignored) {
        // never break GHL's own navigation
      }
      return result;
    };
  }

  try {
    hook("pushState");
    hook("replaceState");
    window.addEventListener("popstate", routeChanged);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") {
        send("heartbeat"); // credits the time since the last beacon before the tab goes quiet
      } else {
        restartHeartbeat(); // visible again: the next heartbeat covers a full visible interval
      }
    });
    onRoute();
  } catch (ignored) {
    // The host page comes first: a tracker failure must never surface there.
  }
})();
