// fumidai console: a live SSH session's terminal, read-only (issue 15, Live).
//
// The screen comes over a WebSocket from this console (same origin; the gateway checks
// the session cookie, the Origin and the person's right to watch): binary messages are
// the target's output, written into xterm.js as terminal data, never as HTML; text
// messages are JSON notices (size, skipped output, end). Nothing typed here is sent:
// the terminal takes no input (disableStdin), no input handler is attached, and the
// socket is only read. The gateway closes the socket if the page ever sends anything.
(function () {
  "use strict";
  var box = document.getElementById("terminal");
  var status = document.getElementById("watch-status");
  if (!box || !status || typeof Terminal !== "function") {
    return;
  }

  // Notices in the page's language, from the template's data-* attributes (text only).
  function say(state) {
    status.textContent = status.getAttribute("data-" + state) || state;
    status.setAttribute("data-state", state);
  }

  // What the Content-Security-Policy refused on this page, for the end-to-end test.
  var violations = [];
  document.addEventListener("securitypolicyviolation", function (e) {
    violations.push(e.effectiveDirective);
    box.setAttribute("data-csp-violations", violations.join(" "));
  });

  // xterm's DOM renderer styles its rows through <style> elements, which the page's
  // policy (style-src 'self', no 'unsafe-inline') refuses. Their rules are copied into a
  // constructed stylesheet, which the policy allows: only rules xterm itself wrote (its
  // theme and cell size, made from numbers and parsed colours, never from output).
  var mirrored = new CSSStyleSheet();
  document.adoptedStyleSheets = [mirrored];
  function mirror() {
    var text = "";
    document.querySelectorAll("style").forEach(function (s) {
      text += s.textContent + "\n";
    });
    mirrored.replaceSync(text);
  }
  new MutationObserver(function (records) {
    for (var i = 0; i < records.length; i++) {
      var r = records[i];
      var touched = r.target.nodeName === "STYLE" || (r.target.parentNode && r.target.parentNode.nodeName === "STYLE");
      for (var j = 0; !touched && j < r.addedNodes.length; j++) {
        touched = r.addedNodes[j].nodeName === "STYLE";
      }
      if (touched) {
        mirror();
        return;
      }
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });

  var term = new Terminal({
    disableStdin: true,
    cursorBlink: false,
    scrollback: 5000,
    fontSize: 14,
    fontFamily: "ui-monospace, 'Noto Sans Mono CJK JP', 'DejaVu Sans Mono', monospace",
    cols: Number(box.getAttribute("data-cols")) || 80,
    rows: Number(box.getAttribute("data-rows")) || 24,
  });
  term.open(box);
  mirror();

  var url = new URL(box.getAttribute("data-socket"), window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  var socket = new WebSocket(url.href);
  socket.binaryType = "arraybuffer";
  var ended = false;
  var written = 0;
  say("connecting");
  socket.onopen = function () {
    say("live");
  };
  socket.onmessage = function (event) {
    if (typeof event.data !== "string") {
      var bytes = new Uint8Array(event.data);
      written += bytes.length;
      box.setAttribute("data-bytes", String(written));
      term.write(bytes);
      return;
    }
    var notice;
    try {
      notice = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (notice.size) {
      term.resize(notice.size[0], notice.size[1]);
    } else if (notice.skipped) {
      say("skipped");
    } else if (notice.end) {
      ended = true;
      say(notice.end);
    }
  };
  socket.onclose = function () {
    if (!ended) {
      say("closed");
    }
  };
})();
