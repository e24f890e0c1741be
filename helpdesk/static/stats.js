// Month statistics pages: refuse oversized files before uploading; confirm deletions.
(function () {
  "use strict";
  document.querySelectorAll("form.upload-form").forEach(function (form) {
    var limit = parseInt(form.getAttribute("data-max-bytes"), 10);
    var input = form.querySelector("input[type=file]");
    var message = form.querySelector("#size-error");
    if (!input || !message || !limit) { return; }
    function tooLarge() {
      var names = [];
      Array.prototype.forEach.call(input.files || [], function (file) {
        if (file.size > limit) { names.push(file.name); }
      });
      return names;
    }
    function check() {
      var names = tooLarge();
      message.hidden = names.length === 0;
      message.textContent = names.length
        ? "Tệp quá lớn (tối đa " + Math.round(limit / 1048576) + " MB): " + names.join(", ")
        : "";
      return names.length === 0;
    }
    input.addEventListener("change", check);
    form.addEventListener("submit", function (event) {
      if (!check()) { event.preventDefault(); input.focus(); }
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
