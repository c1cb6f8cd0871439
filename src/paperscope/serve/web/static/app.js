// Small progressive enhancements; every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // "Copy" buttons copy the text of the element named by data-copy.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      try {
        await navigator.clipboard.writeText(source.textContent);
        button.textContent = "Copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
    });
  }
  // Selects marked data-autosubmit submit their form on change.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
});

// Actions where the reader is: a form inside an element marked data-swap (Upvote, Save,
// Follow, the ratings) is sent with fetch instead of loading a page. The server answers as it
// does without JavaScript (303 back to the page); the element with the same id in that answer
// replaces this one, so the scroll position stays and focus returns to the same button
// (data-focus). An element missing from the answer (a rated recommendation leaves the list)
// is replaced by a line that says so; elements marked data-sync (counts) are refreshed from
// the same answer. Anything unexpected falls back to loading the answer.
(() => {
  const busy = new WeakSet();

  function removedNotice(old) {
    const note = document.createElement("p");
    note.className = "notice removed";
    note.setAttribute("role", "status");
    note.tabIndex = -1;
    note.textContent = old.dataset.removed || "Done: this paper is no longer listed here.";
    return note;
  }

  async function send(form, submitter) {
    const holder = form.closest("[data-swap]");
    const body = new FormData(form);
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    const focusKey = submitter ? submitter.dataset.focus : null;
    busy.add(form);
    holder.setAttribute("aria-busy", "true");
    let response;
    try {
      response = await fetch(form.action, {method: "POST", body, credentials: "same-origin"});
    } catch {
      form.submit();  // the network failed: let the browser try and show what happens
      return;
    }
    if (!response.ok) {
      // refused (a follow that does not validate, an expired form): the answer is the form
      // again with the reason, or an error page, and a GET of its URL would show neither.
      // Send the form as the browser does without JavaScript (this listener lets a busy
      // form through), so the reader sees what the server says.
      if (submitter) form.requestSubmit(submitter);
      else form.requestSubmit();
      return;
    }
    const target = new URL(response.url);
    if (target.pathname !== window.location.pathname) {
      window.location.assign(response.url);  // redirected elsewhere (a log-in page): go there
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    // the element of the answer, and the one it replaces: a swap holder with data-swap-scope
    // (a recommendation) is replaced whole, so an item that left the list says so
    const scope = holder.closest("[data-swap-scope]") || holder;
    const fresh = scope.id ? page.getElementById(scope.id) : null;
    const replacement = fresh ? document.importNode(fresh, true) : removedNotice(scope);
    scope.replaceWith(replacement);
    // counts elsewhere on the page that the action changed (the library's "N papers" and
    // its tag counts): taken from the same answer, so they agree with the list
    for (const stale of document.querySelectorAll("[data-sync][id]")) {
      const current = page.getElementById(stale.id);
      if (current) stale.replaceWith(document.importNode(current, true));
    }
    const again = focusKey && replacement.querySelector(`[data-focus="${focusKey}"]`);
    (again || replacement.querySelector("button, a, [tabindex]") || replacement).focus();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.closest("[data-swap]")) return;
    if (form.method.toLowerCase() !== "post" || busy.has(form)) return;
    event.preventDefault();
    send(form, event.submitter);
  });
})();
