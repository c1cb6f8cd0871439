// Small progressive enhancements; every page works without this file.
"use strict";

// the id of the select whose keyboard choice loaded this page (see data-autosubmit below)
const REFOCUS = "paperscope-refocus";

document.addEventListener("DOMContentLoaded", () => {
  // "Copy" buttons copy the text of the element named by data-copy and say so in a status
  // line after them, which screen readers read out (the button's own name stays: "Copied"
  // in its place was not announced, and stayed after a second copy). Where the clipboard
  // cannot be written (a page served over plain http from another machine), the text is
  // selected, and the line says how to copy it.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    const status = document.createElement("span");
    status.className = "copy-status";
    status.setAttribute("role", "status");
    button.after(status);
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      status.textContent = "";
      try {
        await navigator.clipboard.writeText(source.textContent);
        status.textContent = "Copied.";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        status.textContent = "Selected: press Ctrl+C (⌘C on a Mac) to copy.";
      }
    });
  }
  // Selects marked data-autosubmit submit their form on change: a choice made in the open
  // list (a click, or Enter there). An arrow key or a letter on the closed select changes it
  // too, while a keyboard reader goes through the options: that change waits for Enter (or
  // the Apply button), since each arrow press loaded the page and sent focus to its top.
  // After a load asked from the keyboard, focus comes back to the same select.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    let keyed = false;  // the change under way comes from a key on the closed select
    let fromKeyboard = false;
    const submit = () => {
      if (fromKeyboard && select.id) {
        try {
          sessionStorage.setItem(REFOCUS, select.id);
        } catch {
          // no storage (a private window's quota): focus starts at the top, as without this
        }
      }
      select.form.requestSubmit();
    };
    select.addEventListener("pointerdown", () => { fromKeyboard = false; });
    select.addEventListener("keydown", (event) => {
      fromKeyboard = true;
      if (event.key === "Enter") {
        const shown = select.selectedOptions[0];
        if (shown && !shown.defaultSelected) {
          event.preventDefault();
          submit();
        }
        return;
      }
      keyed = true;
      setTimeout(() => { keyed = false; }, 0);  // the change a key makes comes before this
    });
    select.addEventListener("change", () => {
      if (!keyed) submit();
    });
  }
  // Empty fields of a form that loads a page stay out of its address: "every category"
  // and "any year" read "&cat=" and "&year=" in a link a reader copies or bookmarks.
  for (const form of document.querySelectorAll("form")) {
    if (form.method !== "get") continue;
    form.addEventListener("formdata", (event) => {
      for (const [name, value] of [...event.formData.entries()]) {
        if (value === "") event.formData.delete(name);
      }
    });
  }
  let refocus = null;
  try {
    refocus = sessionStorage.getItem(REFOCUS);
    sessionStorage.removeItem(REFOCUS);
  } catch {
    // storage blocked: nothing was kept
  }
  const chosen = refocus && document.getElementById(refocus);
  if (chosen && chosen.matches("select[data-autosubmit]")) chosen.focus();
});

// Actions where the reader is: a form inside an element marked data-swap (Upvote, Save,
// Follow, the ratings) is sent with fetch instead of loading a page. The server answers as it
// does without JavaScript (303 back to the page); the element with the same id in that answer
// replaces this one, so the scroll position stays and focus returns to the same button
// (data-focus). An element missing from the answer (a rated recommendation leaves the list)
// is replaced by a line that says so; elements marked data-sync (counts) are refreshed from
// the same answer. Anything unexpected falls back to loading the answer.
// Actions on one element go one after another: an action pressed before the last one's
// answer came waits for it, then is sent and swaps the element that answer put in place.
(() => {
  const native = new WeakSet();  // forms handed back to the browser: let their submit through
  const pending = new WeakSet();  // forms with an action queued or on its way
  const queues = new Map();  // a swap element (its id, or itself) -> its last action

  function removedNotice(old) {
    const note = document.createElement("p");
    note.className = "notice removed";
    note.setAttribute("role", "status");
    note.tabIndex = -1;
    note.textContent = old.dataset.removed || "Done: this paper is no longer listed here.";
    return note;
  }

  // the element an action's answer replaces: a swap holder with data-swap-scope (a
  // recommendation) is replaced whole, so an item that left the list says so
  function scopeOf(form) {
    const holder = form.closest("[data-swap]");
    return holder.closest("[data-swap-scope]") || holder;
  }

  // where that element is now: an earlier action's answer may have replaced it
  function current(action) {
    if (action.scopeId) return document.getElementById(action.scopeId);
    return action.scope.isConnected ? action.scope : null;
  }

  // refused, or the network failed: the browser sends the form itself and shows the answer
  function fallBack(action) {
    const form = action.form;
    native.add(form);
    if (!form.isConnected) {
      form.hidden = true;  // a replaced form still holds what was pressed
      document.body.append(form);
    }
    if (action.submitter && action.submitter.form === form) form.requestSubmit(action.submitter);
    else form.requestSubmit();
  }

  async function send(action) {
    const scope = current(action);
    if (scope) scope.setAttribute("aria-busy", "true");
    let response;
    try {
      response = await fetch(action.url, {
        method: "POST", body: action.body, credentials: "same-origin",
      });
    } catch {
      fallBack(action);
      return false;
    }
    if (!response.ok) {
      // refused (a follow that does not validate, an expired form): the answer is the form
      // again with the reason, or an error page, and a GET of its URL would show neither
      fallBack(action);
      return false;
    }
    const target = new URL(response.url);
    if (target.pathname !== window.location.pathname) {
      window.location.assign(response.url);  // redirected elsewhere (a log-in page): go there
      return false;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const old = current(action);
    let replacement = null;
    if (old) {
      const fresh = action.scopeId ? page.getElementById(action.scopeId) : null;
      replacement = fresh ? document.importNode(fresh, true) : removedNotice(old);
      old.replaceWith(replacement);
    }
    // counts elsewhere on the page that the action changed (the library's "N papers" and
    // its tag counts): taken from the same answer, so they agree with the list
    for (const stale of document.querySelectorAll("[data-sync][id]")) {
      const fresh = page.getElementById(stale.id);
      if (fresh) stale.replaceWith(document.importNode(fresh, true));
    }
    if (replacement) {
      const key = action.focusKey;
      const again = key && replacement.querySelector(`[data-focus="${key}"]`);
      (again || replacement.querySelector("button, a, [tabindex]") || replacement).focus();
    }
    return true;
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.closest("[data-swap]")) return;
    if (form.method.toLowerCase() !== "post" || native.has(form)) return;
    event.preventDefault();
    if (pending.has(form)) return;  // pressed twice before its answer: it is sent once
    const submitter = event.submitter;
    // what was pressed is taken now: the form may be replaced before this action is sent
    const body = new FormData(form);
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    const scope = scopeOf(form);
    const action = {
      form, submitter, body, scope,
      url: form.action,
      scopeId: scope.id || null,
      focusKey: submitter ? submitter.dataset.focus : null,
    };
    const key = action.scopeId || scope;
    pending.add(form);
    scope.setAttribute("aria-busy", "true");
    const before = queues.get(key) || Promise.resolve(true);
    // after a fallback the browser is loading another page: nothing more is sent from here
    const mine = before.then((sent) => (sent ? send(action) : false)).catch(() => {
      fallBack(action);  // an answer this script cannot read: the browser shows it
      return false;
    });
    queues.set(key, mine);
    mine.then(() => {
      pending.delete(form);
      if (queues.get(key) === mine) queues.delete(key);
    });
  });
})();
