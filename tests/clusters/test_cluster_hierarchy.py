"""Tests for infoclr.clusters.hierarchy: levels, file formats and bad hierarchies."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml

from infoclr.clusters.hierarchy import Hierarchy, hierarchy_clusters, load_hierarchy
from infoclr.errors import ConfigError, DataError

PATHS = [
    "animal/bird/sparrow",
    "animal/bird/robin",
    "animal/fish/trout",
    "plant/tree/oak",
    "plant/moss",  # shallower than the others
]
PARENTS = {
    "sparrow": "bird",
    "robin": "bird",
    "trout": "fish",
    "oak": "tree",
    "moss": "plant",
    "bird": "animal",
    "fish": "animal",
    "tree": "plant",
    "animal": None,
    "plant": "",
}
CLASSES = ["oak", "sparrow", "moss", "trout", "robin", "sparrow"]


def expected_names(level: int) -> list[str]:
    by_level = {
        0: ["plant", "animal", "plant", "animal", "animal", "animal"],
        1: ["tree", "bird", "moss", "fish", "bird", "bird"],
        2: ["oak", "sparrow", "moss", "trout", "robin", "sparrow"],
    }
    return by_level[min(level, 2)]


@pytest.mark.parametrize("level", [0, 1, 2, 5])
def test_levels_from_paths_and_parent_map_agree(level: int) -> None:
    for hierarchy in (Hierarchy.from_paths(PATHS), Hierarchy(PARENTS)):
        found = hierarchy_clusters(CLASSES, hierarchy, level)
        names = expected_names(level)
        assert found.cluster_names == tuple(sorted(set(names)))
        assert [found.cluster_names[i] for i in found.cluster_ids] == names
        assert found.level == level


def test_paths_depth_and_shallow_classes_keep_themselves() -> None:
    hierarchy = Hierarchy.from_paths(PATHS)
    assert hierarchy.path("sparrow") == ("animal", "bird", "sparrow")
    assert hierarchy.depth("animal") == 0
    assert hierarchy.parent("moss") == "plant"
    assert hierarchy.ancestor("moss", 1) == "moss"
    assert hierarchy.ancestor("moss", 7) == "moss"
    assert len(hierarchy) == 10


def test_mapping_of_class_to_ancestor_path() -> None:
    hierarchy = Hierarchy.from_paths({12: "animal/bird/sparrow", "robin": "animal/bird/robin"})
    assert hierarchy.path("12") == ("animal", "bird", "sparrow", "12")
    assert hierarchy.path("robin") == ("animal", "bird", "robin")
    found = hierarchy_clusters([12, 12.0, "robin"], hierarchy, 2)
    assert found.cluster_names == ("robin", "sparrow")
    assert found.cluster_ids.tolist() == [1, 1, 0]


def test_matches_loop_reference_on_a_random_forest() -> None:
    rng = random.Random(0)
    parents: dict[int, int | None] = {0: None, 1: None}
    for node in range(2, 60):
        parents[node] = rng.randrange(node)
    hierarchy = Hierarchy(parents)
    classes = [rng.randrange(60) for _ in range(200)]
    for level in range(6):
        names = []
        for node in classes:
            chain = [node]
            while parents[chain[-1]] is not None:
                chain.append(parents[chain[-1]])
            chain.reverse()
            names.append(str(chain[min(level, len(chain) - 1)]))
        found = hierarchy_clusters(classes, hierarchy, level)
        numbering = {name: index for index, name in enumerate(sorted(set(names)))}
        assert found.cluster_ids.tolist() == [numbering[name] for name in names]


def test_file_formats(tmp_path: Path) -> None:
    rows = ["child,parent"] + [f"{c},{p or ''}" for c, p in PARENTS.items()]
    (tmp_path / "h.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "h.tsv").write_text("\n".join(r.replace(",", "\t") for r in rows) + "\n")
    (tmp_path / "paths.csv").write_text("path\n" + "\n".join(PATHS) + "\n")
    (tmp_path / "h.json").write_text(json.dumps(PARENTS))
    (tmp_path / "h.yaml").write_text(yaml.safe_dump(PATHS))
    (tmp_path / "h.txt").write_text("# classes\n" + "\n".join(PATHS) + "\n\n")
    expected = hierarchy_clusters(CLASSES, Hierarchy(PARENTS), 1).cluster_ids.tolist()
    for name in ("h.csv", "h.tsv", "paths.csv", "h.json", "h.yaml", "h.txt"):
        hierarchy = load_hierarchy(tmp_path / name)
        assert hierarchy.nodes == Hierarchy(PARENTS).nodes, name
        assert hierarchy_clusters(CLASSES, hierarchy, 1).cluster_ids.tolist() == expected


def test_integer_classes_match_text_names(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("child,parent\n1,seabird\n2,seabird\n3,songbird\n")
    found = hierarchy_clusters([3, 1, 2], load_hierarchy(tmp_path / "h.csv"), 0)
    assert found.cluster_names == ("seabird", "songbird")
    assert found.cluster_ids.tolist() == [1, 0, 0]


def test_cycles_are_errors() -> None:
    with pytest.raises(DataError, match=r"cycle: a -> b -> c -> a"):
        Hierarchy({"a": "b", "b": "c", "c": "a", "leaf": "a"})
    with pytest.raises(DataError, match="cycle: self -> self"):
        Hierarchy({"self": "self"})


def test_unknown_classes_are_listed() -> None:
    with pytest.raises(DataError, match=r"2 class\(es\) are not in the hierarchy: 'eagle', 'owl'"):
        hierarchy_clusters(["owl", "sparrow", "eagle"], Hierarchy.from_paths(PATHS), 0)
    with pytest.raises(DataError, match="'owl' is not in the hierarchy"):
        Hierarchy.from_paths(PATHS).path("owl")


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="two parents"):
        Hierarchy.from_paths(["a/x", "b/x"])
    with pytest.raises(ConfigError, match=">= 0"):
        hierarchy_clusters(["oak"], Hierarchy.from_paths(PATHS), -1)
    with pytest.raises(DataError, match="missing"):
        hierarchy_clusters(["oak", None], Hierarchy.from_paths(PATHS), 0)
    with pytest.raises(DataError, match="does not exist"):
        load_hierarchy(tmp_path / "absent.csv")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="cannot parse"):
        load_hierarchy(tmp_path / "bad.json")
    (tmp_path / "three.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match="3 columns"):
        load_hierarchy(tmp_path / "three.csv")
    (tmp_path / "h.xml").write_text("<x/>")
    with pytest.raises(DataError, match="unsupported extension"):
        load_hierarchy(tmp_path / "h.xml")
    (tmp_path / "dup.csv").write_text("child,parent\nx,a\nx,b\n")
    with pytest.raises(DataError, match="two parents"):
        load_hierarchy(tmp_path / "dup.csv")
