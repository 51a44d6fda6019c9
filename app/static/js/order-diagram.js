// Draws the order's process diagram (bpmn-js NavigatedViewer) and marks where it waits,
// which nodes it passed, and where it stopped with an incident.
(function () {
  "use strict";
  var container = document.getElementById("diagram");
  if (!container || typeof window.BpmnJS !== "function") { return; }

  function list(name) {
    try { return JSON.parse(container.getAttribute(name) || "[]"); } catch (e) { return []; }
  }

  var waiting = list("data-waiting");
  var passed = list("data-passed");
  var incident = container.getAttribute("data-incident");
  var viewer = new window.BpmnJS({ container: container });

  function mark() {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var done = {};
    passed.forEach(function (id) {
      if (registry.get(id)) { canvas.addMarker(id, "of-passed"); done[id] = true; }
    });
    // A flow is passed when both its ends are; a flow into a waiting node led there.
    registry.filter(function (el) { return el.type === "bpmn:SequenceFlow"; }).forEach(function (flow) {
      var from = flow.source && flow.source.id, to = flow.target && flow.target.id;
      if (done[from] && (done[to] || waiting.indexOf(to) >= 0)) { canvas.addMarker(flow.id, "of-passed"); }
    });
    waiting.forEach(function (id) {
      if (registry.get(id)) { canvas.removeMarker(id, "of-passed"); canvas.addMarker(id, "of-waiting"); }
    });
    if (incident && registry.get(incident)) { canvas.addMarker(incident, "of-incident"); }
    canvas.zoom("fit-viewport", "auto");
    container.setAttribute("data-rendered", "true");
  }

  fetch(container.getAttribute("data-xml-url"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("diagram not found (" + response.status + ")"); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(mark)
    .catch(function (err) {
      container.classList.add("diagram-failed");
      container.textContent = "The diagram could not be drawn: " + err.message;
    });
})();
