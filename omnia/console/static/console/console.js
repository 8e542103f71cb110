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
