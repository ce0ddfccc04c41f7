// Keyboard shortcuts for the case console; ignored while typing in a field.
(function () {
  "use strict";
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function submit(id) {
    var form = document.getElementById(id);
    if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
  }
  function focus(id) {
    var el = document.getElementById(id);
    if (el) { el.focus(); el.scrollIntoView({ block: "center" }); }
  }
  function moveRow(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll("tr[data-case-row] td.case-cell a"));
    if (!links.length) { return; }
    var i = links.indexOf(document.activeElement);
    var next = i < 0 ? 0 : Math.min(links.length - 1, Math.max(0, i + step));
    links[next].focus();
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) { return; }
    var handled = true;
    switch (e.key) {
      case "j": moveRow(1); break;
      case "k": moveRow(-1); break;
      case "c": submit("claim-form"); break;
      case "r": submit("release-form"); break;
      case "b": submit("blur-form"); break;
      case "d": focus("d-action"); break;
      case "n": if (document.getElementById("next-form")) { submit("next-form"); } else { focus("note-body"); } break;
      case "/": focus("f-status"); break;
      case "q": window.location.href = "/console/cases"; break;
      default: handled = false;
    }
    if (handled) { e.preventDefault(); }
  });
})();
// After a refused decision the page comes back with the form's error summary: take focus there.
(function () {
  "use strict";
  var error = document.getElementById("form-error");
  if (error) { error.focus(); error.scrollIntoView({ block: "center" }); }
})();
// Decision templates: a digit (outside a text box) or the template list fills the decision form;
// every field stays editable before the decision is recorded.
(function () {
  "use strict";
  var select = document.getElementById("d-template");
  if (!select) { return; }
  function set(id, value) {
    var el = document.getElementById(id);
    if (el && value) { el.value = value; }
  }
  function apply() {
    var option = select.options[select.selectedIndex];
    if (!option || !option.value) { return; }
    var d = option.dataset;
    set("d-action", d.action);
    set("d-ground", d.ground);
    set("d-ref", d.groundReference);
    set("d-category", d.category);
    set("d-explanation", d.explanation);
    set("d-restrict", d.restrictMode);
  }
  select.addEventListener("change", apply);
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || !/^[0-9]$/.test(e.key)) { return; }
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
    var option = select.querySelector('option[data-key="' + e.key + '"]');
    if (!option) { return; }
    select.value = option.value;
    apply();
    var explanation = document.getElementById("d-explanation");
    if (explanation) { explanation.focus(); explanation.scrollIntoView({ block: "center" }); }
    e.preventDefault();
  });
})();
// The queue's "select every case on this page" box.
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  if (!all) { return; }
  all.addEventListener("change", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input.select-case"), function (box) {
      box.checked = all.checked;
    });
  });
})();
