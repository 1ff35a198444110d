/* The ticket page's reply form (R-SUP-4): choosing a canned reply puts its text (placeholders
   already filled by the server) into the message and pre-selects what the macro does next; an
   internal note moves nothing on. The replies come from the page's JSON data block, no inline
   script, so a strict Content-Security-Policy holds. */
(function () {
  "use strict";

  function init() {
    var form = document.getElementById("ticket-reply");
    if (!form) {
      return;
    }
    var body = document.getElementById("id_reply_body");
    var then = document.getElementById("id_reply_then");
    var picker = document.getElementById("id_canned");
    var data = document.getElementById("canned-replies");
    var replies = {};
    if (picker && data) {
      JSON.parse(data.textContent).forEach(function (reply) {
        replies[String(reply.id)] = reply;
      });
      picker.addEventListener("change", function () {
        var reply = replies[picker.value];
        if (!reply) {
          return;
        }
        body.value = body.value.trim() ? body.value.replace(/\s*$/, "\n\n") + reply.body : reply.body;
        var pub = form.querySelector('input[name="visibility"][value="public"]');
        if (pub) {
          pub.checked = true;
        }
        then.disabled = false;
        then.value = reply.then || "";
        body.focus();
      });
    }
    Array.prototype.forEach.call(form.querySelectorAll('input[name="visibility"]'), function (radio) {
      radio.addEventListener("change", function () {
        var note = radio.checked && radio.value === "note";
        if (note) {
          then.value = "";
        }
        then.disabled = note;
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
