// Keyboard-fast labelling on the queue page: each label is one POST, the next photo comes up at once.
(function () {
  "use strict";
  const queue = document.getElementById("queue");
  if (!queue) return;
  const open = () => Array.from(queue.querySelectorAll(".queue-item:not(.done)"));
  let current = open()[0] || null;

  function select(item) {
    if (current) current.classList.remove("current");
    current = item;
    if (item) {
      item.classList.add("current");
      item.scrollIntoView({ block: "nearest" });
    } else {
      document.getElementById("queue-empty").hidden = false;
    }
  }

  function move(step) {
    const items = open();
    const next = items[Math.min(Math.max(items.indexOf(current) + step, 0), items.length - 1)];
    if (next) select(next);
  }

  async function send(form, submitter) {
    const data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    const item = form.closest(".queue-item");
    const status = item.querySelector(".label-status");
    status.classList.remove("error");
    try {
      const response = await fetch(form.action, { method: "POST", body: data, headers: { Accept: "application/json" }, credentials: "same-origin" });
      const body = await response.json();
      if (!response.ok) {
        status.textContent = body.message || "Not saved.";
        status.classList.add("error");
        return;
      }
      const index = open().indexOf(item);
      item.classList.add("done");
      status.textContent = body.skipped ? "Skipped." : "Labelled " + body.label.food_key + ".";
      if (document.activeElement && item.contains(document.activeElement)) document.activeElement.blur();
      const rest = open();
      select(rest[Math.min(index, rest.length - 1)] || null);
    } catch (error) {
      status.textContent = "Not saved: " + error;
      status.classList.add("error");
    }
  }

  queue.addEventListener("submit", (event) => {
    event.preventDefault();
    send(event.target, event.submitter);
  });
  queue.addEventListener("click", (event) => {
    const item = event.target.closest(".queue-item");
    if (item && item !== current && !item.classList.contains("done")) select(item);
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.matches("input, textarea, select")) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || !current) return;
    if (event.key === "j") move(1);
    else if (event.key === "k") move(-1);
    else if (event.key === "/") {
      event.preventDefault();
      current.querySelector(".food-search").focus();
    } else {
      const button = current.querySelector('button[data-key="' + event.key + '"]');
      if (!button) return;
      event.preventDefault();
      button.click();
    }
  });
  queue.dataset.keysReady = "1";
})();
