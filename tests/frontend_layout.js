// Run inside ComfyUI's frontend (Selenium execute_script): the loaded graph's layout as the
// frontend computed it. arguments[0] = {fit: bool, badge: px kept free above every title}.
// Returns {nodes: [{id, type, title, rect, room, missing}], overlaps, hidden_links}.
const opts = arguments[0] || {};
const g = window.app.graph, c = window.app.canvas, TH = LiteGraph.NODE_TITLE_HEIGHT;
const badge = opts.badge ?? 20;
const all = g._nodes || g.nodes;
const nodes = all.map(n => {
  const min = n.computeSize ? n.computeSize() : [0, 0];
  return {id: n.id, type: n.type, title: n.title || n.type,
          rect: [n.pos[0], n.pos[1] - TH - badge, n.size[0], n.size[1] + TH + badge],
          room: n.size[1] - min[1],  // height left below the widgets (where previews are drawn)
          missing: !LiteGraph.registered_node_types[n.type]};
});
const inside = (r, x, y) => x > r[0] && x < r[0] + r[2] && y > r[1] && y < r[1] + r[3];
const overlaps = [];
for (let i = 0; i < nodes.length; i++) for (let j = i + 1; j < nodes.length; j++) {
  const a = nodes[i].rect, b = nodes[j].rect;
  if (a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3])
    overlaps.push([nodes[i].title, nodes[j].title]);
}
// Links are drawn as LiteGraph's default spline; sample it and look for nodes it runs behind.
const hidden = [];
const links = g.links instanceof Map ? [...g.links.values()] : Object.values(g.links || {});
for (const l of links) {
  if (!l) continue;
  const o = g.getNodeById(l.origin_id), t = g.getNodeById(l.target_id);
  const a = o.getConnectionPos(false, l.origin_slot), b = t.getConnectionPos(true, l.target_slot);
  const d = Math.hypot(b[0] - a[0], b[1] - a[1]) * 0.25;
  const p1 = [a[0] + d, a[1]], p2 = [b[0] - d, b[1]];
  for (const n of nodes) {
    if (n.id === o.id || n.id === t.id) continue;
    const r = [n.rect[0], n.rect[1] + badge, n.rect[2], n.rect[3] - badge];
    for (let k = 1; k < 50; k++) {
      const u = k / 50, v = 1 - u;
      const x = v * v * v * a[0] + 3 * v * v * u * p1[0] + 3 * v * u * u * p2[0] + u * u * u * b[0];
      const y = v * v * v * a[1] + 3 * v * v * u * p1[1] + 3 * v * u * u * p2[1] + u * u * u * b[1];
      if (inside(r, x, y)) { hidden.push([o.title || o.type, t.title || t.type, n.title]); break; }
    }
  }
}
if (opts.fit) {  // the whole graph in view, for the screenshot
  const x0 = Math.min(...nodes.map(n => n.rect[0])), y0 = Math.min(...nodes.map(n => n.rect[1]));
  const x1 = Math.max(...nodes.map(n => n.rect[0] + n.rect[2])), y1 = Math.max(...nodes.map(n => n.rect[1] + n.rect[3]));
  const W = c.canvas.width, H = c.canvas.height;
  const s = Math.min((W - 120) / (x1 - x0 + 80), (H - 120) / (y1 - y0 + 80), 1.2);
  c.ds.scale = s; c.ds.offset[0] = -x0 + 40 / s; c.ds.offset[1] = -y0 + 40 / s;
  c.setDirty(true, true);
  c.draw(true, true);
}
return {nodes, overlaps, hidden_links: hidden};
