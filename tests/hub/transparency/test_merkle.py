"""RFC 9162 §2.1 against published vectors, and Hypothesis over random tree sizes.

Vectors: ``vectors/inclusion.json`` and ``vectors/consistency.json`` are every probe of
github.com/transparency-dev/merkle ``testdata/inclusion`` and ``testdata/consistency`` (Apache-2.0,
commit named in each file's ``_source``), unchanged. ``LEAF_INPUTS``, ``NODE_HASHES`` and
``ROOT_HASHES`` are copied from the same repository's ``testonly/constants.go`` (the RFC 6962
reference tree of certificate-transparency's merkle_tree_test.cc).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.transparency import merkle

VECTORS = Path(__file__).parent / "vectors"

# transparency-dev/merkle testonly/constants.go: LeafInputs()
LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
# testonly/constants.go: NodeHashes() (level 0 = leaf hashes, level 1..3 complete subtrees).
NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
# testonly/constants.go: RootHashes(), by tree size 0..8.
ROOT_HASHES = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAVES = [merkle.leaf_hash(d) for d in LEAF_INPUTS]


def _probes(kind: str) -> list[dict[str, Any]]:
    doc = json.loads((VECTORS / f"{kind}.json").read_text())
    return list(doc["probes"])


def _b(s: str) -> bytes:
    return base64.b64decode(s)


def _leaf_hashes(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(n)]


# ----------------------------------------------------------------------- vectors ------
def test_leaf_and_node_hashes_match_the_reference_tree() -> None:
    assert [h.hex() for h in LEAVES] == NODE_HASHES[0]
    for level in range(1, 4):
        got = [
            merkle.node_hash_from_leaves((level, i), LEAVES).hex()
            for i in range(len(NODE_HASHES[level]))
        ]
        assert got == NODE_HASHES[level], level


def test_roots_of_every_size_match_the_reference() -> None:
    assert [merkle.root(LEAVES[:n]).hex() for n in range(9)] == ROOT_HASHES
    assert merkle.EMPTY_ROOT.hex() == ROOT_HASHES[0]


def test_frontier_appends_give_the_reference_roots_and_nodes() -> None:
    frontier: list[bytes] = []
    nodes: dict[tuple[int, int], bytes] = {}
    for size, leaf in enumerate(LEAVES):
        frontier, closed = merkle.append_leaf(size, frontier, leaf)
        nodes.update({(lvl, idx): h for lvl, idx, h in closed})
        assert merkle.frontier_root(frontier).hex() == ROOT_HASHES[size + 1]
    assert {k: v.hex() for k, v in nodes.items()} == {
        (lvl, i): h for lvl in range(1, 4) for i, h in enumerate(NODE_HASHES[lvl])
    }


@pytest.mark.parametrize("probe", _probes("inclusion"), ids=lambda p: p["file"])
def test_inclusion_vectors(probe: dict[str, Any]) -> None:
    ok = merkle.verify_inclusion(
        probe["leafIdx"],
        probe["treeSize"],
        _b(probe["leafHash"]),
        [_b(p) for p in probe["proof"] or []],
        _b(probe["root"]),
    )
    assert ok is not probe["wantErr"], probe["desc"]


@pytest.mark.parametrize("probe", _probes("consistency"), ids=lambda p: p["file"])
def test_consistency_vectors(probe: dict[str, Any]) -> None:
    ok = merkle.verify_consistency(
        probe["size1"],
        probe["size2"],
        _b(probe["root1"]),
        _b(probe["root2"]),
        [_b(p) for p in probe["proof"] or []],
    )
    assert ok is not probe["wantErr"], probe["desc"]


def test_the_writer_produces_the_published_happy_path_proofs() -> None:
    """Every happy-path probe over the reference tree is what our proof builders return."""
    checked = 0
    for p in _probes("inclusion"):
        if p["desc"] == "happy path" and _b(p["root"]) == merkle.root(LEAVES[: p["treeSize"]]):
            proof = merkle.inclusion_proof(p["leafIdx"], LEAVES[: p["treeSize"]])
            assert proof == [_b(h) for h in p["proof"] or []], p["file"]
            checked += 1
    for p in _probes("consistency"):
        if p["desc"] == "happy path" and p["size1"] > 0:
            assert _b(p["root2"]) == merkle.root(LEAVES[: p["size2"]])
            proof = merkle.consistency_proof(p["size1"], LEAVES[: p["size2"]])
            assert proof == [_b(h) for h in p["proof"] or []], p["file"]
            checked += 1
    assert checked >= 8  # four inclusion and four consistency happy paths at least


# ----------------------------------------------------------------------- shapes ------
def test_split_is_the_largest_power_of_two_below_n() -> None:
    assert [merkle.split(n) for n in (2, 3, 4, 5, 8, 9, 1000)] == [1, 2, 2, 4, 4, 8, 512]
    with pytest.raises(ValueError):
        merkle.split(1)


def test_bad_proof_requests_are_refused() -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(5, 5)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(0, 5)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(6, 5)
    assert merkle.consistency_ranges(5, 5) == []


# ---------------------------------------------------------------------- Hypothesis ------
@st.composite
def _tree_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, 300))
    return size, draw(st.integers(0, size - 1))


@settings(max_examples=200, deadline=None)
@given(_tree_and_index(), st.data())
def test_every_inclusion_proof_verifies_and_a_flipped_byte_fails(
    case: tuple[int, int], data: st.DataObject
) -> None:
    size, index = case
    leaves = _leaf_hashes(size)
    r = merkle.root(leaves)
    proof = merkle.inclusion_proof(index, leaves)
    # The ranges are complete subtrees or right edges: their fold from nodes is the same.
    for (lo, hi), h in zip(merkle.inclusion_ranges(index, size), proof, strict=True):
        assert merkle.range_hash(lo, hi, lambda n: merkle.node_hash_from_leaves(n, leaves)) == h
    assert merkle.verify_inclusion(index, size, leaves[index], proof, r)
    assert len(proof) <= size.bit_length()
    # A flipped byte anywhere (leaf, a proof hash, the root) fails.
    where = data.draw(st.integers(0, len(proof) + 1))
    bit = 1 << data.draw(st.integers(0, 7))
    pos = data.draw(st.integers(0, 31))

    def flip(h: bytes) -> bytes:
        return h[:pos] + bytes([h[pos] ^ bit]) + h[pos + 1 :]

    if where == len(proof):
        assert not merkle.verify_inclusion(index, size, flip(leaves[index]), proof, r)
    elif where == len(proof) + 1:
        assert not merkle.verify_inclusion(index, size, leaves[index], proof, flip(r))
    else:
        bad = [*proof[:where], flip(proof[where]), *proof[where + 1 :]]
        assert not merkle.verify_inclusion(index, size, leaves[index], bad, r)
    # The wrong index or size fails too.
    if size > 1:
        assert not merkle.verify_inclusion((index + 1) % size, size, leaves[index], proof, r)


@st.composite
def _two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    second = draw(st.integers(1, 300))
    return draw(st.integers(1, second)), second


@settings(max_examples=200, deadline=None)
@given(_two_sizes(), st.data())
def test_every_consistency_proof_verifies_and_a_flipped_byte_fails(
    sizes: tuple[int, int], data: st.DataObject
) -> None:
    first, second = sizes
    leaves = _leaf_hashes(second)
    r1, r2 = merkle.root(leaves[:first]), merkle.root(leaves)
    proof = merkle.consistency_proof(first, leaves)
    assert merkle.verify_consistency(first, second, r1, r2, proof)
    if first == second:
        assert proof == []
        return
    assert len(proof) <= 2 * second.bit_length()
    where = data.draw(st.integers(0, len(proof) + 1))
    pos, bit = data.draw(st.integers(0, 31)), 1 << data.draw(st.integers(0, 7))

    def flip(h: bytes) -> bytes:
        return h[:pos] + bytes([h[pos] ^ bit]) + h[pos + 1 :]

    if where == len(proof):
        assert not merkle.verify_consistency(first, second, flip(r1), r2, proof)
    elif where == len(proof) + 1:
        assert not merkle.verify_consistency(first, second, r1, flip(r2), proof)
    else:
        bad = [*proof[:where], flip(proof[where]), *proof[where + 1 :]]
        assert not merkle.verify_consistency(first, second, r1, r2, bad)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2000))
def test_frontier_root_equals_the_recursive_root(size: int) -> None:
    leaves = _leaf_hashes(size)
    frontier: list[bytes] = []
    for i, h in enumerate(leaves):
        frontier, _ = merkle.append_leaf(i, frontier, h)
    assert merkle.frontier_root(frontier) == merkle.root(leaves) == _mth(leaves)
    assert len(frontier) == len(merkle.frontier_levels(size))


def _mth(d: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 written as the recursion itself (a second, independent reference)."""
    if not d:
        return merkle.EMPTY_ROOT
    if len(d) == 1:
        return d[0]
    k = merkle.split(len(d))
    return merkle.node_hash(_mth(d[:k]), _mth(d[k:]))
