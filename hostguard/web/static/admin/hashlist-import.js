// Hash-list import with a progress display: the file is sent with XMLHttpRequest so the page can
// show how much of it has gone up, then "Importing..." while the server checks and stores the
// lines; the answer (the summary and the list table) replaces the page. Without script the
// form posts as usual.
(function () {
  "use strict";
  var form = document.getElementById("hashlist-import");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var bar = document.getElementById("import-progress");
  var text = document.getElementById("import-progress-text");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action")); // form.action is the "action" field here
    bar.hidden = false;
    text.hidden = false;
    text.textContent = "Sending the file: 0 %";
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round((e.loaded / e.total) * 100);
      bar.value = pct;
      bar.textContent = pct + " %";
      text.textContent = "Sending the file: " + pct + " %";
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value");
      text.textContent = "Importing: checking and storing the lines...";
    });
    xhr.addEventListener("load", function () {
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () {
      text.textContent = "The upload failed: check the connection and try again.";
    });
    xhr.send(new FormData(form));
  });
})();
