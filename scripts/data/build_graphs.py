"""Write real node-labelled graphs that ship inside PyPI wheels into /work/data/graphs/<name>/.

    python build_graphs.py

* drosophila_left / drosophila_right: larval Drosophila mushroom-body connectomes (Eichler et al.
  2017, Nature 548:175), shipped in graspologic 3.4.4 (install with --no-deps; read the CSVs
  directly, no graspologic import). Directed, weighted (synapse counts). Node labels = cell type:
  K (Kenyon cell), I (input neuron), O (output neuron), P (projection neuron).
* karate: Zachary's karate club from networkx (node attribute 'club': Mr. Hi / Officer).
* les_miserables: networkx co-appearance graph (no labels; for unsupervised demos only).

Per graph: edges.csv (src,dst,weight; 0-based node ids), labels.txt (int per node, sorted class
names), label_names.json, node_ids.txt, adjacency.npy (dense float32, N x N), info.json.
"""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
from common import DATA, package_file, write_json, write_lines


def save(
    name: str,
    adj: np.ndarray,
    labels: list[str] | None,
    node_ids: list[str],
    directed: bool,
    note: str,
):
    out = DATA / "graphs" / name
    out.mkdir(parents=True, exist_ok=True)
    adj = np.asarray(adj, dtype=np.float32)
    n = adj.shape[0]
    if directed:
        src, dst = np.nonzero(adj)
    else:
        src, dst = np.nonzero(np.triu(adj))  # each undirected edge once, src <= dst
    with open(out / "edges.csv", "w") as fh:
        fh.write("src,dst,weight\n")
        for s, d in zip(src, dst, strict=True):
            w = adj[s, d]
            fh.write(f"{s},{d},{int(w) if float(w).is_integer() else w}\n")
    np.save(out / "adjacency.npy", adj)
    write_lines(out / "node_ids.txt", node_ids)
    info = {
        "nodes": n,
        "directed": directed,
        "edges_in_csv": int(len(src)),
        "self_loops": int((np.diag(adj) != 0).sum()),
        "total_weight": float(adj.sum()),
        "note": note,
    }
    g = nx.from_numpy_array(adj, create_using=nx.DiGraph if directed else nx.Graph)
    und = g.to_undirected() if directed else g
    info["undirected_edges"] = und.number_of_edges()
    info["connected_components_undirected"] = nx.number_connected_components(und)
    info["isolated_nodes"] = int(sum(1 for _ in nx.isolates(und)))
    if labels is not None:
        names = sorted(set(labels))
        idx = {c: i for i, c in enumerate(names)}
        y = np.array([idx[c] for c in labels], dtype=np.int64)
        write_lines(out / "labels.txt", y.tolist())
        np.save(out / "labels.npy", y)
        write_json(out / "label_names.json", names)
        info["classes"] = {c: int((y == i).sum()) for i, c in enumerate(names)}
    write_json(out / "info.json", info)
    print(name, json.dumps(info))


def main() -> None:
    for side in ("left", "right"):
        a = np.loadtxt(
            package_file("graspologic", f"graspologic/datasets/drosophila/{side}_adjacency.csv"),
            dtype=int,
        )
        lab = np.loadtxt(
            package_file("graspologic", f"graspologic/datasets/drosophila/{side}_cell_labels.csv"),
            dtype=str,
        )
        assert a.shape[0] == a.shape[1] == len(lab)
        save(
            f"drosophila_{side}",
            a,
            lab.tolist(),
            [str(i) for i in range(len(lab))],
            directed=True,
            note="graspologic 3.4.4 graspologic/datasets/drosophila; weights = synapse counts; "
            "labels K=Kenyon cell, I=input neuron, O=output neuron, P=projection neuron",
        )

    g = nx.karate_club_graph()
    nodes = sorted(g.nodes())
    save(
        "karate",
        nx.to_numpy_array(g, nodelist=nodes, weight=None),
        [g.nodes[v]["club"] for v in nodes],
        [str(v) for v in nodes],
        directed=False,
        note=f"networkx {nx.__version__} karate_club_graph(); unweighted; "
        "label = club after the split",
    )

    g = nx.les_miserables_graph()
    nodes = sorted(g.nodes())
    save(
        "les_miserables",
        nx.to_numpy_array(g, nodelist=nodes, weight="weight"),
        None,
        nodes,
        directed=False,
        note=f"networkx {nx.__version__} les_miserables_graph(); "
        "weight = co-appearances; no labels",
    )


if __name__ == "__main__":
    main()
