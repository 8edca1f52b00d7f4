// Herald dashboard: what plain links and forms cannot do. Every page works without it.
(function () {
  "use strict";

  // Times: the viewer's time zone in the text, UTC kept in the title.
  function localTimes(root) {
    var fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) { t.textContent = fmt.format(d); }
    });
  }

  // Copy buttons: shown only where the clipboard can be written.
  function copyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (b) {
      if (!navigator.clipboard) { return; }
      b.hidden = false;
      b.addEventListener("click", function () {
        var source = document.getElementById(b.getAttribute("data-copy"));
        if (!source) { return; }
        var text = "value" in source && source.value !== undefined ? source.value : source.textContent;
        navigator.clipboard.writeText(text).then(function () {
          b.textContent = "Copied";
          setTimeout(function () { b.textContent = "Copy"; }, 2000);
        });
      });
    });
  }

  // Links to a confirmation page open the same form in a dialog instead.
  function dialogOf(a) {
    var dialog = document.getElementById(a.getAttribute("data-dialog"));
    return dialog && typeof dialog.showModal === "function" ? dialog : null;
  }

  // The page's boost would follow such a link too, replacing the page (and the dialog just
  // opened) with the confirmation page: htmx asks first, and is told no.
  document.addEventListener("htmx:confirm", function (e) {
    var a = e.detail && e.detail.elt;
    if (a && a.matches && a.matches("a[data-dialog]") && dialogOf(a)) { e.preventDefault(); }
  });

  function dialogs(root) {
    root.querySelectorAll("a[data-dialog]").forEach(function (a) {
      var dialog = dialogOf(a);
      if (!dialog) { return; }
      a.addEventListener("click", function (e) {
        e.preventDefault();
        dialog.showModal();
      });
    });
    root.querySelectorAll("dialog button[data-close]").forEach(function (b) {
      b.addEventListener("click", function () { b.closest("dialog").close(); });
    });
  }

  // Fields shown only when a control says so: data-shown-when="name=value".
  function conditional(root) {
    var form = root.querySelectorAll("[data-shown-when]");
    function update() {
      form.forEach(function (el) {
        var rule = el.getAttribute("data-shown-when").split("=");
        var controls = document.getElementsByName(rule[0]);
        var on = false;
        controls.forEach(function (c) {
          if (c.type === "checkbox" || c.type === "radio") { if (c.checked && c.value === rule[1]) { on = true; } }
          else if (c.value === rule[1]) { on = true; }
        });
        el.hidden = !on;
      });
    }
    root.addEventListener("change", update);
    update();
  }

  // A preview of what a field makes: data-preview="template with {value}" on the output.
  function previews(root) {
    root.querySelectorAll("output[data-preview-of]").forEach(function (o) {
      var input = document.getElementById(o.getAttribute("data-preview-of"));
      if (!input) { return; }
      var template = o.getAttribute("data-preview");
      function update() { o.textContent = template.replace("{value}", input.value); }
      input.addEventListener("input", update);
      update();
    });
  }

  function enhance(root) {
    localTimes(root);
    copyButtons(root);
    dialogs(root);
    conditional(root);
    previews(root);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (e) { enhance(e.target); });
})();
