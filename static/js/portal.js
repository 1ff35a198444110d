/* The portal's few behaviours. Every page works without them; none is inline (the Content Security
   Policy allows no inline script), each is found by an id or a data attribute. */
(function () {
  "use strict";

  // <input type="file" data-previews="ID">: the chosen images appear in the list #ID, named by file.
  document.querySelectorAll("input[type=file][data-previews]").forEach(function (input) {
    var previews = document.getElementById(input.dataset.previews);
    input.addEventListener("change", function () {
      previews.querySelectorAll("img").forEach(function (img) { URL.revokeObjectURL(img.src); });
      previews.textContent = "";
      Array.prototype.forEach.call(input.files, function (file) {
        var li = document.createElement("li"), img = document.createElement("img");
        img.src = URL.createObjectURL(file); img.alt = file.name; img.width = 120;
        li.appendChild(img); previews.appendChild(li);
      });
    });
  });

  // The return application: the lines, condition checklist, exchange SKU and inspection report shown
  // are those of the chosen request.
  var apply = document.getElementById("apply-form");
  if (apply) {
    var syncApply = function () {
      var checked = apply.querySelector('input[name="option"]:checked');
      var option = checked ? checked.value : "";
      apply.querySelectorAll(".apply-line").forEach(function (row) {
        var open = !option || row.dataset.options.split(" ").indexOf(option) >= 0;
        row.hidden = !open;
        if (!open) { row.querySelector("input").value = "0"; }
      });
      var condition = apply.querySelector(".apply-condition");
      if (condition) { condition.hidden = option !== condition.dataset.for; }
      var exchange = apply.querySelector(".apply-exchange");
      exchange.hidden = option.indexOf(exchange.dataset.prefix) !== 0;
      var report = apply.querySelector(".apply-report");
      if (report) { report.hidden = report.dataset.for.split(" ").indexOf(option) < 0; }
    };
    apply.addEventListener("change", function (event) { if (event.target.name === "option") { syncApply(); } });
    syncApply();
  }

  // The warranty claim: the remedies shown are those open for the chosen fault; the service mode
  // only matters for a repair.
  var claim = document.getElementById("claim-form");
  if (claim) {
    var syncClaim = function () {
      var fault = claim.querySelector('input[name="fault"]:checked');
      fault = fault ? fault.value : "";
      claim.querySelectorAll(".remedy").forEach(function (row) {
        var faults = row.dataset.faults;
        var open = !fault || faults === "*" || faults.split(" ").indexOf(fault) >= 0;
        row.hidden = !open;
        if (!open) { row.querySelector("input").checked = false; }
      });
      var remedy = claim.querySelector('input[name="remedy"]:checked');
      var mode = claim.querySelector(".service-mode");
      mode.hidden = !!remedy && remedy.value !== mode.dataset.for;
    };
    claim.addEventListener("change", function (event) {
      if (event.target.name === "fault" || event.target.name === "remedy") { syncClaim(); }
    });
    syncClaim();
  }

  // <button data-print hidden>: prints the page (hidden where there is no script to do it).
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // <form data-confirm="question">: asks before it is sent.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
