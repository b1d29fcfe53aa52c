// Draws the interaction network of the page's #network element with Cytoscape.js, from the JSON
// the API serves (data-url). Labels are set as text by Cytoscape, never as HTML.
(function () {
  "use strict";
  const PALETTE = ["#1f5f8b", "#c0392b", "#7d8a2e", "#8e44ad", "#d35400", "#16a085", "#2c3e50", "#b7950b"];
  function draw(box) {
    fetch(box.dataset.url, { headers: { Accept: "application/json" } })
      .then((response) => response.json())
      .then((data) => {
        if (!data.nodes || data.nodes.length === 0) {
          box.textContent = box.dataset.empty || "No reposts, quotes or replies to draw.";
          box.dataset.state = "empty";
          return;
        }
        const elements = [];
        for (const node of data.nodes) {
          elements.push({
            data: { id: node.id, label: node.label, colour: PALETTE[node.community % PALETTE.length], bridge: node.bridge ? 1 : 0, lead: node.lead ? 1 : 0 },
            position: { x: node.x, y: node.y },
          });
        }
        data.edges.forEach((edge, i) => elements.push({ data: { id: "e" + i, source: edge.source, target: edge.target, weight: edge.weight } }));
        const graph = cytoscape({
          container: box,
          elements: elements,
          style: [
            { selector: "node", style: { "background-color": "data(colour)", width: 8, height: 8, label: "", "font-size": 6 } },
            { selector: "node[bridge = 1]", style: { "border-width": 2, "border-color": "#000", width: 12, height: 12 } },
            // The leading accounts of each community and the bridges carry their names; any other on a tap.
            { selector: "node[lead = 1], node:selected", style: { label: "data(label)", "font-size": 11, "text-background-color": "#fff", "text-background-opacity": 0.85, "text-background-padding": 1, "text-valign": "top", "text-margin-y": -3, "min-zoomed-font-size": 6 } },
            { selector: "edge", style: { width: 0.5, "line-color": "#bbb", "curve-style": "haystack", opacity: 0.6 } },
          ],
          // Positions come from the server (a radial tree layout): drawn at once, the same every time.
          layout: { name: "preset", fit: true, padding: 10 },
        });
        graph.on("tap", "node", (event) => { event.target.select(); });
        listCommunities(box, data.report.communities);
        summarise(box, data);  // inserted right after the drawing, above the table
        box.dataset.state = "drawn";
        box.dataset.nodes = String(data.nodes.length);
      })
      .catch(() => { box.textContent = "The network could not be loaded."; box.dataset.state = "error"; });
  }
  // What is drawn of the whole: the heaviest ties only, the rest counted (and in the table).
  function summarise(box, data) {
    const note = document.createElement("p");
    note.className = "muted network-summary";
    const drawn = data.nodes.length + " accounts and " + data.edges.length + " ties drawn";
    note.textContent = data.truncated
      ? drawn + " (the heaviest) of " + data.report.accounts + " accounts and " + data.report.edges + " ties; " +
        data.hidden_accounts + " accounts with lighter ties only are counted in the communities below."
      : drawn + ": the whole network.";
    box.insertAdjacentElement("afterend", note);
  }
  // The communities as a table under the drawing (its data behind the picture), built with
  // textContent so handles stay text.
  function listCommunities(box, communities) {
    const table = document.createElement("table");
    table.className = "communities";
    const head = table.createTHead().insertRow();
    for (const title of ["community", "size", "top accounts", "hashtags", "share of engagement"]) {
      const cell = document.createElement("th");
      cell.textContent = title;
      head.appendChild(cell);
    }
    const body = table.createTBody();
    for (const community of communities.slice(0, 8)) {
      const row = body.insertRow();
      const swatch = row.insertCell();
      swatch.textContent = "■ " + community.label;
      swatch.style.color = PALETTE[community.label % PALETTE.length];
      row.insertCell().textContent = String(community.size);
      row.insertCell().textContent = community.top_accounts.slice(0, 3).map((a) => a.handle || a.account).join(", ");
      row.insertCell().textContent = community.top_hashtags.slice(0, 3).map((h) => "#" + h[0]).join(" ");
      row.insertCell().textContent = (100 * community.engagement_share).toFixed(1) + "%";
    }
    box.insertAdjacentElement("afterend", table);
  }
  document.querySelectorAll(".network[data-url]").forEach(draw);
})();
