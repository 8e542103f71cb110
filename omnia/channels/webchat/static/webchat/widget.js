/* Omnia web chat widget. Embed on any page:
 *   <script src="https://omnia.example/webchat/widget.js" data-channel="<channel key>"></script>
 * Plain JS, no dependencies. The visitor id lives in localStorage (and a cookie as a fallback). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) {
    var all = document.querySelectorAll("script[data-channel]");
    script = all[all.length - 1];
  }
  if (!script || window.__omniaWebchat) return;
  window.__omniaWebchat = true;
  var key = script.getAttribute("data-channel") || "";
  var origin = new URL(script.src, location.href).origin;
  var storageKey = "omnia_webchat_visitor";
  var strings = {
    title: script.getAttribute("data-title") || "Чат с магазином",
    placeholder: "Напишите сообщение…",
    send: "Отправить",
    contact: "Оставьте телефон или e-mail, чтобы мы могли ответить позже",
    name: "Имя", phone: "Телефон", email: "E-mail", save: "Сохранить",
    saved: "Спасибо! Мы свяжемся с вами.",
    offline: "нет связи", online: "онлайн"
  };

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var s = "";
    for (var i = 0; i < 32; i++) s += Math.floor(Math.random() * 16).toString(16);
    return s.slice(0, 8) + "-" + s.slice(8, 12) + "-" + s.slice(12, 16) + "-" + s.slice(16, 20) + "-" + s.slice(20);
  }
  function readCookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  function visitorId() {
    var id = "";
    try { id = localStorage.getItem(storageKey) || ""; } catch (e) { /* storage blocked */ }
    if (!id) id = readCookie(storageKey);
    if (!/^[a-z0-9][a-z0-9-]{7,39}$/.test(id)) id = randomId().toLowerCase();
    try { localStorage.setItem(storageKey, id); } catch (e) { /* storage blocked */ }
    document.cookie = storageKey + "=" + id + "; path=/; max-age=31536000; SameSite=Lax";
    return id;
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  var visitor = visitorId();
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = origin + "/webchat/widget.css";
  document.head.appendChild(css);

  var root = el("div", "omnia-wc");
  root.setAttribute("data-testid", "webchat");
  var panel = el("div", "omnia-wc-panel");
  var head = el("div", "omnia-wc-head");
  var title = el("span", "", strings.title);
  var state = el("span", "omnia-wc-state", strings.offline);
  state.setAttribute("data-testid", "webchat-state");
  title.appendChild(state);
  var close = el("button", "", "×");
  close.type = "button";
  close.setAttribute("aria-label", "close");
  head.appendChild(title);
  head.appendChild(close);
  var log = el("div", "omnia-wc-log");
  log.setAttribute("data-testid", "webchat-log");
  var form = el("form", "omnia-wc-form");
  var input = el("textarea");
  input.placeholder = strings.placeholder;
  input.setAttribute("data-testid", "webchat-input");
  var send = el("button", "", strings.send);
  send.type = "submit";
  send.setAttribute("data-testid", "webchat-send");
  form.appendChild(input);
  form.appendChild(send);

  var contact = el("details", "omnia-wc-contact");
  contact.appendChild(el("summary", "", strings.contact));
  var contactForm = el("form");
  var nameInput = el("input"); nameInput.placeholder = strings.name; nameInput.name = "name";
  var phoneInput = el("input"); phoneInput.placeholder = strings.phone; phoneInput.name = "phone"; phoneInput.type = "tel";
  var emailInput = el("input"); emailInput.placeholder = strings.email; emailInput.name = "email"; emailInput.type = "email";
  var save = el("button", "", strings.save); save.type = "submit";
  var note = el("div", "omnia-wc-note");
  [nameInput, phoneInput, emailInput, save, note].forEach(function (n) { contactForm.appendChild(n); });
  contact.appendChild(contactForm);

  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(contact);
  panel.appendChild(form);
  var bubble = el("button", "omnia-wc-bubble", "💬");
  bubble.type = "button";
  bubble.setAttribute("aria-label", strings.title);
  bubble.setAttribute("data-testid", "webchat-bubble");
  root.appendChild(panel);
  root.appendChild(bubble);
  (document.body || document.documentElement).appendChild(root);

  var openKey = "omnia_webchat_open";
  function setOpen(open) {
    root.classList.toggle("open", open);
    try { sessionStorage.setItem(openKey, open ? "1" : ""); } catch (e) { /* ignore */ }
    if (open) { input.focus(); log.scrollTop = log.scrollHeight; }
  }
  bubble.addEventListener("click", function () { setOpen(!root.classList.contains("open")); });
  close.addEventListener("click", function () { setOpen(false); });
  try { if (sessionStorage.getItem(openKey)) setOpen(true); } catch (e) { /* ignore */ }

  var shown = {}; // message ids / client ids already on screen
  function addMessage(direction, text, id) {
    if (id && shown[id]) return shown[id];
    var node = el("div", "omnia-wc-msg " + (direction === "in" ? "omnia-wc-in" : "omnia-wc-out"), text);
    node.setAttribute("data-direction", direction);
    if (id) shown[id] = node;
    log.appendChild(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }

  var socket = null;
  var queue = []; // messages typed while offline
  var retry = 1000;
  function connect() {
    var url = origin.replace(/^http/, "ws") + "/ws/webchat/" + encodeURIComponent(key) + "/?visitor=" + encodeURIComponent(visitor);
    socket = new WebSocket(url);
    socket.onopen = function () {
      retry = 1000;
      state.textContent = strings.online;
      root.setAttribute("data-state", "live");
    };
    socket.onclose = function (event) {
      state.textContent = strings.offline;
      root.setAttribute("data-state", "offline");
      if (event.code === 4404 || event.code === 4400) return; // wrong channel key or visitor id
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "history") {
        log.textContent = "";
        shown = {};
        if (data.greeting) log.appendChild(el("div", "omnia-wc-msg omnia-wc-out omnia-wc-greeting", data.greeting));
        data.messages.forEach(function (m) {
          addMessage(m.direction, m.text, m.direction === "in" && m.client_id ? "c:" + m.client_id : "m:" + m.id);
        });
        queue.forEach(function (m) { addMessage("in", m.text, "c:" + m.client_id).classList.add("omnia-wc-pending"); });
        flush();
      } else if (data.type === "ack") {
        var node = shown["c:" + data.client_id];
        if (node) node.classList.remove("omnia-wc-pending");
        queue = queue.filter(function (m) { return m.client_id !== data.client_id; });
      } else if (data.type === "message") {
        addMessage("out", data.text, data.id ? "p:" + data.id : "");
        if (!root.classList.contains("open")) bubble.classList.add("omnia-wc-unread");
      } else if (data.type === "identified") {
        var errors = Object.keys(data.errors || {}).map(function (k) { return data.errors[k]; });
        note.textContent = errors.length ? errors.join(" ") : strings.saved;
      } else if (data.type === "error") {
        note.textContent = data.message || data.code;
      }
    };
  }
  function flush() {
    if (!socket || socket.readyState !== 1) return;
    queue.forEach(function (m) { socket.send(JSON.stringify({ type: "message", text: m.text, client_id: m.client_id })); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    var clientId = randomId().replace(/[^a-zA-Z0-9-]/g, "");
    queue.push({ text: text, client_id: clientId });
    addMessage("in", text, "c:" + clientId).classList.add("omnia-wc-pending");
    input.value = "";
    flush();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit ? form.requestSubmit() : send.click(); }
  });
  contactForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!socket || socket.readyState !== 1) { note.textContent = strings.offline; return; }
    socket.send(JSON.stringify({ type: "identify", name: nameInput.value, phone: phoneInput.value, email: emailInput.value }));
  });
  connect();
})();
