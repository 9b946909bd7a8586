// Check attachment sizes before the upload starts, so a too-large file is
// refused at once instead of after minutes of uploading. The server checks too.
(function () {
  "use strict";
  const form = document.getElementById("compose-form");
  const input = form && form.querySelector("input[type=file][data-max-bytes]");
  const warning = document.getElementById("attachment-warning");
  if (!input || !warning) return;
  const max = Number(input.dataset.maxBytes);

  function check() {
    let total = 0;
    for (const file of input.files) {
      if (file.size > max) return "“" + file.name + "” is larger than the attachment limit.";
      total += file.size;
    }
    return total > max ? "These attachments together exceed the attachment limit." : "";
  }

  input.addEventListener("change", function () {
    const problem = check();
    warning.textContent = problem;
    warning.hidden = !problem;
  });
  form.addEventListener("submit", function (event) {
    const problem = check();
    if (problem && event.submitter && event.submitter.value !== "discard") {
      event.preventDefault();
      warning.textContent = problem;
      warning.hidden = false;
    }
  });
})();
