// fumidai console: a live session, read-only (issue 15, Live) — an SSH session's terminal
// (#terminal) or an RDP session's desktop (#desktop).
//
// The screen comes over a WebSocket from this console (same origin; the gateway checks
// the session cookie, the Origin and the person's right to watch). Terminal: binary
// messages are the target's output, written into xterm.js as terminal data, never as
// HTML. Desktop: binary messages are PNG pictures of the screen, shown as a data: image
// (the policy's img-src allows data:). Text messages are JSON notices (size, skipped
// output, end). Nothing typed here is sent: the terminal takes no input (disableStdin),
// no input handler is attached, and the socket is only read. The gateway closes the
// socket if the page ever sends anything.
(function () {
  "use strict";
  var status = document.getElementById("watch-status");
  var desktop = document.getElementById("desktop");
  if (status && desktop) {
    watchDesktop(desktop, status);
    return;
  }
  var box = document.getElementById("terminal");
  if (!box || !status || typeof Terminal !== "function") {
    return;
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

  var written = 0;
  open(box, status, function (data) {
    var bytes = new Uint8Array(data);
    written += bytes.length;
    box.setAttribute("data-bytes", String(written));
    term.write(bytes);
  }, function (cols, rows) {
    term.resize(cols, rows);
  });

  // An RDP desktop: each picture replaces the last (the newest wins while one loads).
  function watchDesktop(img, status) {
    var pictures = 0;
    var reading = false;
    var next = null;
    function show(blob) {
      if (reading) {
        next = blob;
        return;
      }
      reading = true;
      var reader = new FileReader();
      reader.onload = function () {
        img.src = reader.result;
        pictures += 1;
        img.setAttribute("data-pictures", String(pictures));
        reading = false;
        if (next) {
          var later = next;
          next = null;
          show(later);
        }
      };
      reader.readAsDataURL(blob);
    }
    open(img, status, function (data) {
      show(new Blob([data], { type: "image/png" }));
    }, function () {});
  }

  // The socket: binary data to `onData`, notices to the status line.
  function open(element, status, onData, onSize) {
    function say(state) {
      status.textContent = status.getAttribute("data-" + state) || state;
      status.setAttribute("data-state", state);
    }
    var url = new URL(element.getAttribute("data-socket"), window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(url.href);
    socket.binaryType = "arraybuffer";
    var ended = false;
    say("connecting");
    socket.onopen = function () {
      say("live");
    };
    socket.onmessage = function (event) {
      if (typeof event.data !== "string") {
        onData(event.data);
        return;
      }
      var notice;
      try {
        notice = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (notice.size) {
        onSize(notice.size[0], notice.size[1]);
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
  }
})();
