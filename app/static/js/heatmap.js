// The heatmap: draws a process diagram (bpmn-js NavigatedViewer), shades each node by how many
// instances wait there now (or by the average time spent there), puts the counts on the nodes,
// and lists a node's instances under the diagram when it is clicked.
(function () {
  "use strict";
  var container = document.getElementById("heatmap");
  if (!container || typeof window.BpmnJS !== "function") { return; }

  var nodes = [];
  try { nodes = JSON.parse(container.getAttribute("data-nodes") || "[]"); } catch (e) { nodes = []; }
  var byId = {};
  nodes.forEach(function (n) { byId[n.node_id] = n; });
  var viewer = new window.BpmnJS({ container: container });
  var target = document.getElementById("node-instances");
  var modeSelect = document.getElementById("heat-mode");
  var LEVELS = 5;

  function span(seconds) {
    if (seconds === null || seconds === undefined) { return ""; }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) { return minutes + " min"; }
    var hours = Math.floor(minutes / 60);
    return hours < 48 ? hours + " h" : Math.floor(hours / 24) + " d";
  }

  function badge(cls, text, title) {
    var el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    el.title = title;
    return el;
  }

  function paint() {
    var canvas = viewer.get("canvas"), overlays = viewer.get("overlays");
    var registry = viewer.get("elementRegistry");
    var key = modeSelect && modeSelect.value === "time" ? "avg_seconds" : "waiting";
    var max = 0;
    nodes.forEach(function (n) {
      if (n.type !== "SubWorkflowTask" && n.type !== "TransactionSubprocess") { max = Math.max(max, n[key] || 0); }
    });
    overlays.remove({ type: "heat" });
    nodes.forEach(function (n) {
      if (!registry.get(n.node_id)) { return; }
      for (var i = 1; i <= LEVELS; i++) { canvas.removeMarker(n.node_id, "heat-" + i); }
      var value = n[key] || 0;
      var container = n.type === "SubWorkflowTask" || n.type === "TransactionSubprocess";
      if (value > 0 && max > 0 && !container) {  // a shaded subprocess would hide its nodes
        canvas.addMarker(n.node_id, "heat-" + Math.max(1, Math.ceil(LEVELS * value / max)));
      }
      var box = document.createElement("div");
      box.className = "heat-badges";
      if (n.waiting) { box.appendChild(badge("heat-count", n.waiting, n.waiting + " waiting now")); }
      if (n.incidents) { box.appendChild(badge("heat-incident", n.incidents, n.incidents + " stopped by an incident")); }
      if (box.childNodes.length) {
        overlays.add(n.node_id, "heat", { position: { top: -12, right: 14 }, html: box,
                                          scale: { min: 1 } });  // readable on a wide diagram
      }
      if (n.visits) {
        var time = badge("heat-time", "avg " + span(n.avg_seconds) + " · p90 " + span(n.p90_seconds),
                         n.visits + " visit(s) in the period");
        overlays.add(n.node_id, "heat", { position: { bottom: -4, left: 0 }, html: time,
                                          scale: { min: 1 } });
      }
    });
  }

  function select(id) {
    var canvas = viewer.get("canvas");
    nodes.forEach(function (n) { canvas.removeMarker(n.node_id, "heat-selected"); });
    if (viewer.get("elementRegistry").get(id)) { canvas.addMarker(id, "heat-selected"); }
    var url = container.getAttribute("data-node-url") + "&node_id=" + encodeURIComponent(id);
    fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("could not load the instances (" + response.status + ")"); }
        return response.text();
      })
      .then(function (html) {
        target.innerHTML = html;
        var params = new URLSearchParams(window.location.search);
        params.set("node_id", id);
        window.history.replaceState(null, "", "?" + params.toString());
      })
      .catch(function (err) { target.textContent = err.message; });
  }

  function fitHeight() {
    // A wide diagram fitted into a fixed box leaves empty bands: size the box to the diagram.
    var canvas = viewer.get("canvas"), inner = canvas.viewbox().inner;
    if (!inner || !inner.width) { return; }
    var height = container.clientWidth * inner.height / inner.width + 60;
    container.style.height = Math.round(Math.min(720, Math.max(320, height))) + "px";
    canvas.resized();
  }

  viewer.on("element.click", function (event) {
    if (byId[event.element.id]) { select(event.element.id); }
  });
  if (modeSelect) {
    var initial = new URLSearchParams(window.location.search).get("colour");
    if (initial) { modeSelect.value = initial; }
    modeSelect.addEventListener("change", paint);
  }

  fetch(container.getAttribute("data-xml-url"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("diagram not found (" + response.status + ")"); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      fitHeight();
      paint();
      var selected = container.getAttribute("data-selected");
      if (selected) { viewer.get("canvas").addMarker(selected, "heat-selected"); }
      viewer.get("canvas").zoom("fit-viewport", "auto");
      container.setAttribute("data-rendered", "true");
    })
    .catch(function (err) {
      container.classList.add("diagram-failed");
      container.textContent = "The diagram could not be drawn: " + err.message;
    });
})();
