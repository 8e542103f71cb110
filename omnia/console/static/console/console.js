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
