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

  // Links to a confirmation page open the same form in a dialog instead. Heard on the way down
  // (capture) and stopped there: htmx's boost listens on the link itself, and would otherwise
  // fetch the confirmation page before a listener of the link's could prevent it.
  function dialogs() {
    document.addEventListener("click", function (e) {
      var a = e.target.closest ? e.target.closest("a[data-dialog]") : null;
      if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) { return; }
      var dialog = document.getElementById(a.getAttribute("data-dialog"));
      if (!dialog || typeof dialog.showModal !== "function") { return; }
      e.preventDefault();
      e.stopPropagation();
      dialog.showModal();
    }, true);
    document.addEventListener("click", function (e) {
      var b = e.target.closest ? e.target.closest("dialog button[data-close]") : null;
      if (b) { b.closest("dialog").close(); }
    });
  }

  // Fields shown only when a control says so: data-shown-when="name=value", or
  // "name=one|other" for any of several values, or "a=x;b=y" when either control does.
  function conditional(root) {
    var form = root.querySelectorAll("[data-shown-when]");
    function holds(text) {
      var rule = text.split("=");
      var values = rule[1].split("|");
      var on = false;
      document.getElementsByName(rule[0]).forEach(function (c) {
        var matches = values.indexOf(c.value) !== -1;
        if (c.type === "checkbox" || c.type === "radio") { if (c.checked && matches) { on = true; } }
        else if (matches) { on = true; }
      });
      return on;
    }
    function update() {
      form.forEach(function (el) {
        el.hidden = !el.getAttribute("data-shown-when").split(";").some(holds);
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
    conditional(root);
    previews(root);
  }

  dialogs();
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (e) { enhance(e.target); });
})();
