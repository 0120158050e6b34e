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
 * No eval, no inline code: it works under a strict CSP that allows our origin.
 *
 * NPS prompt (issue 15): once per page load and sub-account it asks our server whether to show
 * this person the prompt ({payload, location_id, v}; the server decides: own users of a
 * sub-account the owner switched it on for, at most once per person per 90 days, never agency
 * staff). Only then does it add one element to the page: a shadow root holding a small
 * dialog, styled by a constructed stylesheet (no inline script, no third-party origin, GHL's
 * styles do not reach it and its styles do not leak out). The answer sends {payload,
 * location_id, rating, comment, v}; closing it (button, "Not now" or Esc) sends a dismissal.
 * It never reads the page: the dialog's own text nodes are created here.
 */
(function () {
  "use strict";

  // Filled in by the server when it serves this file (sync/activity_views.py).
  var APP_ID = "__GOCSM_APP_ID__";
  var ENDPOINT = "__GOCSM_ENDPOINT__";
  var NPS_ENDPOINT = "__GOCSM_NPS_ENDPOINT__";
  var NPS_DELAY_MS = "__GOCSM_NPS_DELAY_MS__";
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
    scheduleNps(next.locationId);
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

  // --- NPS prompt --------------------------------------------------------------------------
  var NPS_CSS =
    ":host{all:initial}" +
    ".box{position:fixed;right:24px;bottom:24px;z-index:2147483647;box-sizing:border-box;" +
    "width:min(440px,calc(100vw - 32px));background:#fff;color:#1f2937;border:1px solid #d1d5db;" +
    "border-radius:10px;box-shadow:0 10px 30px rgba(0,0,0,.18);padding:16px 18px;" +
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".box:focus{outline:2px solid #2563eb;outline-offset:2px}" +
    "fieldset{border:0;margin:0;padding:0;min-width:0}" +
    "legend,.q{font-weight:600;font-size:15px;margin:0 28px 10px 0;padding:0}" +
    ".scale{display:flex;gap:4px;flex-wrap:wrap}" +
    ".scale label{position:relative;flex:1 0 26px;min-width:26px;text-align:center;" +
    "border:1px solid #9ca3af;border-radius:6px;padding:5px 0;cursor:pointer}" +
    ".scale input{position:absolute;opacity:0;inset:0;margin:0;cursor:pointer}" +
    ".scale label:has(input:checked){background:#2563eb;border-color:#2563eb;color:#fff}" +
    ".scale label:has(input:focus-visible){outline:2px solid #2563eb;outline-offset:2px}" +
    ".ends{display:flex;justify-content:space-between;font-size:12px;color:#4b5563;" +
    "margin:4px 0 10px}" +
    "textarea{box-sizing:border-box;width:100%;min-height:60px;margin-top:4px;font:inherit;" +
    "border:1px solid #9ca3af;border-radius:6px;padding:6px}" +
    ".row{display:flex;justify-content:flex-end;gap:8px;margin-top:10px}" +
    "button{font:inherit;border-radius:6px;padding:6px 14px;cursor:pointer;" +
    "border:1px solid #9ca3af;background:#fff;color:#1f2937}" +
    "button.primary{background:#2563eb;border-color:#2563eb;color:#fff}" +
    "button:focus-visible{outline:2px solid #2563eb;outline-offset:2px}" +
    ".close{position:absolute;top:8px;right:8px;border:0;font-size:20px;line-height:1;" +
    "padding:4px 8px;background:transparent}" +
    ".err{color:#b91c1c;margin:8px 0 0}";
  var npsAsked = {};
  var npsOpen = null;
  var npsTimer = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function npsPost(action, locationId, fields) {
    return payloadForLocation(locationId).then(function (payload) {
      if (!payload) {
        return null;
      }
      var body = { payload: payload, location_id: locationId, v: PROTOCOL };
      Object.keys(fields || {}).forEach(function (name) {
        body[name] = fields[name];
      });
      return window.fetch(NPS_ENDPOINT + action + "/", {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        credentials: "omit",
        mode: "cors",
        referrerPolicy: "no-referrer",
        cache: "no-store"
      });
    });
  }

  function scheduleNps(locationId) {
    if (npsTimer) {
      window.clearTimeout(npsTimer);
      npsTimer = null;
    }
    if (!locationId || npsOpen || npsAsked[locationId] || stopped) {
      return;
    }
    npsTimer = window.setTimeout(function () {
      npsTimer = null;
      if (current.locationId !== locationId || document.visibilityState !== "visible") {
        return;
      }
      npsAsked[locationId] = true; // once per page load and sub-account
      npsPost("ask", locationId)
        .then(function (response) {
          return response && response.ok ? response.json() : null;
        })
        .then(function (answer) {
          if (answer && answer.ask === true && current.locationId === locationId && !npsOpen) {
            showNps(locationId, String(answer.agency || ""), answer.comment_max || 1000);
          }
        })
        .catch(function () {});
    }, NPS_DELAY_MS);
  }

  function showNps(locationId, agencyName, commentMax) {
    var previousFocus = document.activeElement;
    var host = el("div", { "data-gocsm": "nps" });
    var root = host.attachShadow({ mode: "open" });
    if (window.CSSStyleSheet && "adoptedStyleSheets" in root) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(NPS_CSS);
      root.adoptedStyleSheets = [sheet];
    }
    var who = agencyName || "us";
    var question = "How likely are you to recommend " + who + " to a friend or colleague?";
    var scale = el("div", { class: "scale" });
    for (var n = 0; n <= 10; n += 1) {
      var input = el("input", {
        type: "radio",
        name: "gocsm-nps-rating",
        value: String(n),
        required: "required",
        "aria-label": n + " out of 10"
      });
      scale.appendChild(el("label", {}, [input, String(n)]));
    }
    var comment = el("textarea", {
      id: "gocsm-nps-comment",
      maxlength: String(commentMax),
      rows: "2"
    });
    var error = el("p", { class: "err", role: "alert" });
    var send = el("button", { type: "submit", class: "primary" }, ["Send"]);
    var later = el("button", { type: "button" }, ["Not now"]);
    var close = el("button", { type: "button", class: "close", "aria-label": "Close" }, ["\u00d7"]);
    var form = el("form", { novalidate: "novalidate" }, [
      el("fieldset", {}, [
        el("legend", { id: "gocsm-nps-q" }, [question]),
        scale,
        el("div", { class: "ends", "aria-hidden": "true" }, [
          el("span", {}, ["0 = Not at all likely"]),
          el("span", {}, ["10 = Extremely likely"])
        ])
      ]),
      el("label", { for: "gocsm-nps-comment" }, ["What is the main reason for your score? (optional)"]),
      comment,
      error,
      el("div", { class: "row" }, [later, send])
    ]);
    var box = el(
      "div",
      { class: "box", role: "dialog", "aria-labelledby": "gocsm-nps-q", tabindex: "-1" },
      [close, form]
    );
    root.appendChild(box);
    npsOpen = host;

    function finish() {
      if (host.parentNode) {
        host.parentNode.removeChild(host);
      }
      npsOpen = null;
      if (previousFocus && typeof previousFocus.focus === "function" && previousFocus.isConnected) {
        previousFocus.focus();
      }
    }

    function dismiss() {
      npsPost("dismiss", locationId).catch(function () {});
      finish();
    }

    function thank() {
      while (box.firstChild) {
        box.removeChild(box.firstChild);
      }
      var thanks = el("p", { class: "q", role: "status", tabindex: "-1" }, [
        "Thank you for your feedback!"
      ]);
      var ok = el("button", { type: "button" }, ["Close"]);
      ok.addEventListener("click", finish);
      box.appendChild(thanks);
      box.appendChild(el("div", { class: "row" }, [ok]));
      ok.focus();
      window.setTimeout(finish, 4000);
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var picked = null;
      Array.prototype.forEach.call(scale.getElementsByTagName("input"), function (radio) {
        if (radio.checked) {
          picked = parseInt(radio.value, 10);
        }
      });
      while (error.firstChild) {
        error.removeChild(error.firstChild);
      }
      if (picked === null) {
        error.appendChild(document.createTextNode("Please choose a number from 0 to 10."));
        scale.getElementsByTagName("input")[0].focus();
        return;
      }
      send.disabled = true;
      npsPost("answer", locationId, { rating: picked, comment: comment.value.slice(0, commentMax) })
        .then(function (response) {
          if (response && (response.ok || response.status === 409)) {
            thank();
          } else {
            send.disabled = false;
            error.appendChild(document.createTextNode("Sorry, that did not go through."));
          }
        })
        .catch(function () {
          send.disabled = false;
          error.appendChild(document.createTextNode("Sorry, that did not go through."));
        });
    });
    later.addEventListener("click", dismiss);
    close.addEventListener("click", dismiss);
    box.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        if (form.parentNode === box) {
          dismiss();
        } else {
          finish();
        }
      }
    });
    document.body.appendChild(host);
    // Focus moves to the prompt unless the person is typing in GHL (it never takes their
    // keystrokes); it is then last in the page's Tab order, and Esc inside it closes it.
    var typing =
      previousFocus &&
      (previousFocus.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(previousFocus.tagName));
    if (!typing) {
      box.focus();
    }
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
