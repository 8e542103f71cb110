// Settings → Notifications editor: the variable chips insert at the cursor of the last focused field
// (the text by default) and tell the preview to refresh.
(function () {
  "use strict";
  var lastField = null;

  document.addEventListener("focusin", function (e) {
    if (e.target && e.target.hasAttribute && e.target.hasAttribute("data-nt-target")) lastField = e.target;
  });

  document.addEventListener("click", function (e) {
    var chip = e.target.closest ? e.target.closest("[data-insert]") : null;
    if (!chip) return;
    e.preventDefault();
    var field = lastField && document.body.contains(lastField) ? lastField : document.getElementById("nt_body");
    if (!field) return;
    var text = chip.getAttribute("data-insert");
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? start : field.selectionEnd;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.setSelectionRange(start + text.length, start + text.length);
    field.dispatchEvent(new Event("input", { bubbles: true }));
    document.body.dispatchEvent(new CustomEvent("nt:inserted"));
  });
})();
