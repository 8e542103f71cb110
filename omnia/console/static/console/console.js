/* Omnia console: live connection, topic subscriptions, small conveniences. No framework. */
(function () {
  "use strict";

  function setLive(state) {
    var el = document.getElementById("live-indicator");
    if (!el) return;
    el.dataset.state = state;
    var label = el.querySelector(".label");
    if (label) label.textContent = el.dataset["label" + state.charAt(0).toUpperCase() + state.slice(1)] || state;
  }

  function connect(attempt) {
    var path = document.body.dataset.wsPath;
    if (!path || !window.WebSocket) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + path);
    var pingTimer = null;
    setLive("connecting");
    socket.addEventListener("open", function () {
      attempt = 0;
      var topics = (document.body.dataset.topics || "").split(/[\s,]+/).filter(Boolean);
      topics.push("system");
      socket.send(JSON.stringify({ type: "subscribe", topics: topics }));
      pingTimer = setInterval(function () { socket.send(JSON.stringify({ type: "ping" })); }, 25000);
    });
    socket.addEventListener("message", function (msg) {
      var data;
      try { data = JSON.parse(msg.data); } catch (e) { return; }
      if (data.type === "subscribed" || data.type === "hello" || data.type === "pong") {
        setLive("live");
      } else if (data.type === "event") {
        document.body.dispatchEvent(new CustomEvent("omnia:event", { detail: data, bubbles: true }));
        if (window.htmx) window.htmx.trigger(document.body, "omnia:" + data.topic.split(":")[0], data);
      }
    });
    socket.addEventListener("close", function () {
      clearInterval(pingTimer);
      setLive("offline");
      var delay = Math.min(30000, 1000 * Math.pow(2, attempt || 0));
      setTimeout(function () { connect((attempt || 0) + 1); }, delay);
    });
    window.omniaSocket = socket;
  }

  function drawSalesChart() {
    var canvas = document.getElementById("sales-chart");
    var source = document.getElementById("sales-data");
    if (!canvas || !source || !window.Chart) return;
    var chart = JSON.parse(source.textContent);
    var palette = ["#2563eb", "#16a34a", "#db2777", "#f59e0b", "#7c3aed", "#0891b2", "#dc2626",
                   "#65a30d", "#9333ea", "#ea580c", "#0d9488", "#4b5563", "#be123c"];
    chart.datasets.forEach(function (ds, i) { ds.backgroundColor = palette[i % palette.length]; });
    new window.Chart(canvas, {
      type: "bar",
      data: chart,
      options: {
        responsive: true, maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
      sel.addEventListener("change", function () { sel.form.submit(); });
    });
    var toggle = document.querySelector(".menu-toggle");
    if (toggle) toggle.addEventListener("click", function () {
      document.getElementById("sidebar").classList.toggle("open");
    });
    if (document.getElementById("live-indicator")) connect(0);
    drawSalesChart();
  });
})();

/* === inbox: keep the thread scrolled to the newest message, "typing" both ways, note toggle === */
(function () {
  "use strict";
  var TYPING_EVERY_MS = 3000;  // tell others at most this often while the operator types
  var TYPING_SHOWN_MS = 5000;  // hide "X is typing…" when nothing more arrives
  var lastSent = 0;
  var hideTimer = null;

  function inbox() { return document.getElementById("inbox"); }

  function scrollThread() {
    var list = document.getElementById("thread-messages");
    if (list) list.scrollTop = list.scrollHeight;
  }

  function sendTyping(conversationId) {
    var socket = window.omniaSocket;
    var now = Date.now();
    if (!socket || socket.readyState !== 1 || now - lastSent < TYPING_EVERY_MS) return;
    lastSent = now;
    socket.send(JSON.stringify({ type: "typing", conversation_id: conversationId }));
  }

  function showTyping(data) {
    var box = inbox();
    var el = document.getElementById("typing-indicator");
    if (!box || !el || String(data.conversation_id) !== box.dataset.conversation) return;
    if (data.user && data.user === box.dataset.me) return;
    el.textContent = (el.dataset.template || "%(name)s…").replace("%(name)s", data.name || data.user || "");
    el.hidden = false;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(function () { el.hidden = true; el.textContent = ""; }, TYPING_SHOWN_MS);
  }

  function syncSendLabel(form) {
    var box = form && form.querySelector("input[name=note]");
    var button = form && form.querySelector("button[data-label-send]");
    if (!box || !button) return;
    button.textContent = box.checked ? button.dataset.labelNote : button.dataset.labelSend;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!inbox()) return;
    scrollThread();
    ["thread-messages", "thread-composer"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.dataset.settled = "1";
    });
    document.body.addEventListener("omnia:event", function (e) {
      var msg = e.detail || {};
      if (msg.kind === "typing") showTyping(msg.data || {});
    });
    document.body.addEventListener("input", function (e) {
      var t = e.target;
      if (t && t.id === "composer-text" && t.value && !t.form.querySelector("input[name=note]:checked")) {
        sendTyping(parseInt(t.dataset.conversation, 10));
      }
    });
    document.body.addEventListener("change", function (e) {
      if (e.target && e.target.name === "note" && e.target.form) syncSendLabel(e.target.form);
    });
    document.body.addEventListener("keydown", function (e) {
      // Ctrl/Cmd+Enter sends from the composer.
      if (e.target && e.target.id === "composer-text" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        if (e.target.form.requestSubmit) e.target.form.requestSubmit(); else e.target.form.submit();
      }
    });
    document.body.addEventListener("htmx:afterSettle", function () {
      // A timeline or composer that was just swapped in has no mark yet: scroll, focus once.
      var list = document.getElementById("thread-messages");
      if (list && !list.dataset.settled) { list.dataset.settled = "1"; scrollThread(); }
      var form = document.getElementById("thread-composer");
      if (form && !form.dataset.settled) {
        form.dataset.settled = "1";
        syncSendLabel(form);
        var text = document.getElementById("composer-text");
        if (text && !text.value && document.activeElement === document.body) text.focus();
      }
    });
  });
})();
/* === end of inbox === */

/* === inbox: "/" canned responses, reply-via hints, send later, live SLA clocks, presence === */
(function () {
  "use strict";
  var TOKEN = /(^|\s)\/([^\s\/]{0,50})$/;  // a "/word" right before the caret, at the start or after a space
  var FETCH_DELAY_MS = 120;
  var fetchTimer = null;
  var current = null;  // {start, end, query} of the "/word" being completed, or null

  function inbox() { return document.getElementById("inbox"); }
  function box() { return document.getElementById("canned-suggestions"); }
  function textarea() { return document.getElementById("composer-text"); }

  /* --- formatting like inbox_views.duration_label, from the translated patterns on #inbox --- */
  function fmt(pattern, values) {
    return String(pattern || "").replace(/%\((\w+)\)(0?\d*)([ds])/g, function (_, name, width, kind) {
      var value = String(values[name] === undefined ? "" : values[name]);
      if (kind === "d" && width && width.charAt(0) === "0") {
        while (value.length < parseInt(width, 10)) value = "0" + value;
      }
      return value;
    });
  }

  function duration(seconds, d) {
    var minutes = Math.max(0, Math.floor(seconds / 60));
    if (minutes < 1) return d.fmtLt1;
    if (minutes < 60) return fmt(d.fmtMin, { minutes: minutes });
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 24) return fmt(d.fmtHours, { hours: hours, minutes: minutes });
    return fmt(d.fmtDays, { days: Math.floor(hours / 24), hours: hours % 24 });
  }

  /* --- SLA clocks: count down from the server's time, then count up as "overdue by" --- */
  function tickClocks() {
    var root = inbox();
    if (!root) return;
    var d = root.dataset;
    document.querySelectorAll("[data-due-ms]").forEach(function (el) {
      if (!el.dataset.seenAt) el.dataset.seenAt = String(Date.now());
      var elapsed = Date.now() - parseInt(el.dataset.seenAt, 10);
      var left = (parseInt(el.dataset.dueMs, 10) - parseInt(el.dataset.nowMs, 10) - elapsed) / 1000;
      var overdue = left <= 0;
      var text = overdue ? fmt(d.fmtOverdue, { time: duration(-left, d) }) : fmt(d.fmtLeft, { time: duration(left, d) });
      if (el.textContent !== text) el.textContent = text;
      var state = overdue ? "overdue" : "left";
      if (el.dataset.state !== state) {
        el.dataset.state = state;
        el.classList.toggle("sla-clock-overdue", overdue);
      }
    });
  }

  /* --- "/" suggestions --- */
  function viaValue() {
    var form = document.getElementById("thread-composer");
    var field = form && form.querySelector("[name=via]");
    return field ? field.value : "";
  }

  function close() {
    var list = box();
    current = null;
    clearTimeout(fetchTimer);
    if (list) { list.hidden = true; list.innerHTML = ""; }
    var t = textarea();
    if (t) { t.setAttribute("aria-expanded", "false"); t.removeAttribute("aria-activedescendant"); }
  }

  function options() {
    var list = box();
    return list ? Array.prototype.slice.call(list.querySelectorAll("[role=option]")) : [];
  }

  function activate(index) {
    var all = options();
    if (!all.length) return;
    index = (index + all.length) % all.length;
    all.forEach(function (el, i) {
      el.classList.toggle("active", i === index);
      el.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    all[index].scrollIntoView({ block: "nearest" });
    var t = textarea();
    if (t) t.setAttribute("aria-activedescendant", all[index].id);
  }

  function activeIndex() {
    return options().findIndex(function (el) { return el.classList.contains("active"); });
  }

  function insert(option) {
    var t = textarea();
    if (!t || !current || !option) return;
    var text = option.dataset.text || "";
    var before = t.value.slice(0, current.start);
    var after = t.value.slice(current.end);
    t.value = before + text + after;
    // Put the caret after the inserted text, or select the first {{…}} left to fill in.
    var hole = text.indexOf("{{");
    if (hole >= 0) {
      var end = text.indexOf("}}", hole);
      t.setSelectionRange(before.length + hole, before.length + (end >= 0 ? end + 2 : text.length));
    } else {
      t.setSelectionRange(before.length + text.length, before.length + text.length);
    }
    close();
    t.focus();
  }

  function lookUp() {
    var t = textarea();
    var list = box();
    if (!t || !list || !window.htmx) return;
    var match = TOKEN.exec(t.value.slice(0, t.selectionStart));
    if (!match || t.selectionStart !== t.selectionEnd) { close(); return; }
    var query = match[2];
    current = { start: t.selectionStart - query.length - 1, end: t.selectionStart, query: query };
    clearTimeout(fetchTimer);
    fetchTimer = setTimeout(function () {
      window.htmx.ajax("GET", t.dataset.cannedUrl, {
        source: list, target: list, swap: "innerHTML", values: { q: query, via: viaValue() }
      });
    }, FETCH_DELAY_MS);
  }

  function shown(list) {
    // A response for a query the operator has typed past is dropped: a newer one is on its way.
    var answer = list.querySelector("[data-query]");
    if (!current || !answer || answer.dataset.query !== current.query) return;
    list.hidden = false;
    var t = textarea();
    if (t) t.setAttribute("aria-expanded", "true");
    if (options().length) activate(0);
  }

  /* --- reply via: the window note follows the chosen channel --- */
  function syncWindowNote(select) {
    var note = document.getElementById("composer-window");
    var option = select.options[select.selectedIndex];
    if (!note || !option) return;
    note.textContent = option.dataset.note || "";
    note.hidden = !option.dataset.note;
    note.className = "window-note window-" + (option.dataset.window || "none");
  }

  /* --- keep the head's "more" panel open when a live update redraws the head --- */
  var headMoreOpen = false;

  document.addEventListener("DOMContentLoaded", function () {
    if (!inbox()) return;
    tickClocks();
    setInterval(tickClocks, 1000);

    document.body.addEventListener("input", function (e) {
      if (e.target && e.target.id === "composer-text") lookUp();
    });
    document.body.addEventListener("click", function (e) {
      var option = e.target.closest && e.target.closest("#canned-suggestions [role=option]");
      if (option) { e.preventDefault(); insert(option); return; }
      if (e.target && e.target.id === "composer-text") lookUp();
      else if (!(e.target.closest && e.target.closest("#canned-suggestions"))) close();
    });
    document.body.addEventListener("mousedown", function (e) {
      // Keep the focus (and the caret) in the textarea while a suggestion is clicked.
      if (e.target.closest && e.target.closest("#canned-suggestions")) e.preventDefault();
    });
    document.body.addEventListener("keydown", function (e) {
      var t = e.target;
      if (t && t.id === "composer-text" && current && box() && !box().hidden && options().length) {
        if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          e.preventDefault();
          activate(activeIndex() + (e.key === "ArrowDown" ? 1 : -1));
        } else if ((e.key === "Enter" && !e.ctrlKey && !e.metaKey && !e.shiftKey) || e.key === "Tab") {
          e.preventDefault();
          e.stopImmediatePropagation();
          insert(options()[Math.max(0, activeIndex())]);
        } else if (e.key === "Escape") {
          e.preventDefault();
          close();
        }
      } else if (t && t.id === "composer-text" && e.key === "Escape") {
        close();
      } else if (t && t.id === "composer-send-after" && e.key === "Enter") {
        // Enter in the date field schedules: it must never send at once.
        e.preventDefault();
        var schedule = t.form && t.form.querySelector("button[name=schedule]");
        if (schedule) schedule.click();
      }
    }, true);
    document.body.addEventListener("change", function (e) {
      if (e.target && e.target.id === "composer-via") { syncWindowNote(e.target); close(); }
    });
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail && e.detail.target && e.detail.target.id === "canned-suggestions") shown(e.detail.target);
      if (e.detail && e.detail.target && e.detail.target.id === "thread-composer") close();
      tickClocks();
    });
    document.body.addEventListener("htmx:oobBeforeSwap", function (e) {
      var more = document.querySelector("#thread-head .thread-more");
      if (e.detail && e.detail.target && e.detail.target.id === "thread-head") headMoreOpen = !!(more && more.open);
    });
    document.body.addEventListener("htmx:oobAfterSwap", function (e) {
      if (!headMoreOpen) return;
      var more = document.querySelector("#thread-head .thread-more");
      if (more) more.open = true;
    });
  });
})();
/* === end of inbox: canned, reply via, send later, SLA clocks === */

/* stock: a scanner types a code and Enter; the box is selected after each search so the next scan
   replaces it. Enter in a picker's search box searches instead of sending the form around it. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    if (event.target && event.target.id === "stock-search") {
      var box = document.getElementById("stock-q");
      if (box) setTimeout(function () { box.select(); }, 0);
    }
  });
  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key === "Enter" && el && el.matches && el.matches("input[data-no-submit]")) {
      event.preventDefault();
      el.dispatchEvent(new Event("search", { bubbles: true }));
    }
  });
})();
/* === end of stock === */

/* SMS cost under the composer: how many SMS the reply takes and in which alphabet, as the operator
   types (the same rule as omnia/channels/sms/segments.py: GSM-7 160/153, extension characters
   count double; anything else UCS-2 70/67 in UTF-16 units); shown while the reply goes by SMS. */
(function () {
  "use strict";
  function cost(text, basic, extension) {
    var chars = Array.from(text);
    var gsm = chars.every(function (c) { return basic.indexOf(c) >= 0 || extension.indexOf(c) >= 0; });
    var size = function (c) { return gsm ? (extension.indexOf(c) >= 0 ? 2 : 1) : c.length; };
    var single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    var total = chars.reduce(function (n, c) { return n + size(c); }, 0);
    if (total <= single) return { gsm: gsm, count: 1, per: single };
    var count = 1, used = 0;
    chars.forEach(function (c) {
      if (used + size(c) > part) { count += 1; used = 0; }
      used += size(c);
    });
    return { gsm: gsm, count: count, per: part };
  }
  function update() {
    var line = document.getElementById("composer-sms");
    var text = document.getElementById("composer-text");
    if (!line || !text) return;
    var via = document.getElementById("composer-via");
    if (via && via.tagName === "SELECT") {
      var option = via.options[via.selectedIndex];
      line.hidden = !option || option.dataset.provider !== "sms";
    }
    var d = line.dataset;
    var r = cost(text.value, d.gsm + "\n\r", d.gsmExtension + "\f");
    var alphabet = r.gsm ? d.latin : (/[\u0400-\u04FF]/.test(text.value) ? d.cyrillic : d.unicode);
    line.textContent = d.format.replace("%(count)s", r.count).replace("%(alphabet)s", alphabet).replace("%(per)s", r.per);
  }
  document.addEventListener("input", function (e) { if (e.target && e.target.id === "composer-text") update(); });
  document.addEventListener("change", function (e) { if (e.target && e.target.id === "composer-via") update(); });
  document.addEventListener("htmx:afterSwap", update);
})();
/* === end of SMS cost === */
