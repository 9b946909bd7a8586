// "Check mail now": enqueue a poll, then watch the accounts' poll status until
// each has finished, and report the result without reloading the page.
(function () {
  "use strict";
  const form = document.getElementById("check-mail");
  const status = document.getElementById("check-mail-status");
  if (!form || !status || !window.fetch) return;

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    status.textContent = "Checking mail…";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: {"Accept": "application/json",
                  "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value},
        credentials: "same-origin",
      });
      const {requested_at} = await response.json();
      const since = Date.parse(requested_at);
      for (let attempt = 0; attempt < 120; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const data = await (await fetch(form.dataset.statusUrl, {credentials: "same-origin"})).json();
        const done = data.accounts.filter((a) => a.last_poll_at && Date.parse(a.last_poll_at) >= since - 1000);
        if (done.length === data.accounts.length) {
          const errors = done.filter((a) => a.error);
          const fresh = done.reduce((sum, a) => sum + (a.error ? 0 : a.new), 0);
          status.textContent = (fresh === 1 ? "1 new message." : fresh + " new messages.") +
            errors.map((a) => " " + a.account + ": " + a.error).join("");
          if (fresh > 0) {
            const link = document.createElement("a");
            link.href = window.location.pathname;
            link.textContent = " Show them";
            status.appendChild(link);
          }
          return;
        }
      }
      status.textContent = "Still checking; reload the page in a moment.";
    } catch (error) {
      status.textContent = "Could not check mail: " + error;
    } finally {
      button.disabled = false;
    }
  });
})();
