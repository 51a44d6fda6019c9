// Repeatable rows of a form table (arrays of objects): "Add row" clones the row template with
// the next index in every field name; "✕" removes a row. The server drops blank rows, so a
// form without JavaScript still works with the rows it was given.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      var block = add.closest("[data-rows]");
      var index = parseInt(block.getAttribute("data-next-index") || "0", 10);
      var template = block.querySelector("template");
      var html = template.innerHTML.split("__index__").join(String(index));
      var body = block.querySelector("table.rows tbody");
      body.insertAdjacentHTML("beforeend", html);
      block.setAttribute("data-next-index", String(index + 1));
      var first = body.lastElementChild.querySelector("input, select, textarea");
      if (first) { first.focus(); }
      return;
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) {
      var row = remove.closest("tr");
      var rows = row.parentNode;
      row.parentNode.removeChild(row);
      if (!rows.children.length) {
        var addButton = rows.closest("[data-rows]").querySelector("[data-add-row]");
        if (addButton) { addButton.click(); }
      }
    }
  });
})();
