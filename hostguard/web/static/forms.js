// Moves keyboard and screen-reader focus to a form's error message when the page shows one.
(function () {
  "use strict";
  var error = document.getElementById("form-error");
  if (error) {
    if (!error.hasAttribute("tabindex")) { error.setAttribute("tabindex", "-1"); }
    error.focus();
  }
})();
