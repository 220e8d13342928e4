"""RFC 9162 §2.1 Merkle trees as pure functions: hashes, tree heads, proofs and their verifiers.

Every function here follows the RFC's text, section by section, and is tested against the
vectors published by transparency-dev/merkle (``tests/hub/transparency/vectors``). Nothing
here does IO: the store (``hub.transparency.store``) asks which subtrees a proof needs
(``inclusion_ranges``, ``consistency_ranges``), reads their hashes, and folds them
(``range_hash``); an outside verifier needs only ``verify_inclusion`` and ``verify_consistency``.

Terms: a *range* ``(lo, hi)`` is the leaves ``D[lo:hi]``; a *node* ``(level, index)`` is the
complete subtree of ``2**level`` leaves starting at leaf ``index * 2**level``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
# RFC 9162 §2.1.1: MTH({}) = SHA-256() (the hash of the empty string).
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]  # (level, index): leaves index*2**level .. (index+1)*2**level - 1
Range = tuple[int, int]  # (lo, hi): leaves lo .. hi - 1


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """RFC 9162 §2.1.1: k, the largest power of two smaller than n (n > 1)."""
    if n < 2:
        raise ValueError(f"a tree of {n} leaves is not split")
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of §2.1.1 from the leaf hashes (the fold of ``range_nodes(0, n)``)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    # Pairing left to right, an odd last hash moving up unchanged, is the same tree as the
    # RFC's recursive split at the largest power of two (both give the complete subtrees of
    # the binary decomposition of n, combined right to left).
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


# ------------------------------------------------------------------- proofs as ranges ------
def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes make PATH(m, D[n]) of RFC 9162 §2.1.3.1, in proof order."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    out: list[Range] = []
    lo, hi = 0, size
    # PATH(m, D[lo:hi]): recurse into the half holding m, the other half's MTH goes after
    # the deeper path, so the list is built leaf-side first by walking down and reversing.
    while hi - lo > 1:
        k = split(hi - lo)
        if index - lo < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The subtrees whose hashes make PROOF(m, D[n]) of RFC 9162 §2.1.4.1, in proof order."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first == second:
        return []
    out: list[Range] = []
    lo, hi, m, complete = 0, second, first, True
    # SUBPROOF(m, D[lo:hi], b), iteratively: each step appends one range after the deeper
    # subproof, so ranges are collected and reversed, as for inclusion.
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                out.append((lo, hi))
            break
        k = split(n)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    out.reverse()
    return out


def range_nodes(lo: int, hi: int) -> list[Node]:
    """The complete subtrees that make up a range, largest first.

    Every range a proof asks for starts at a multiple of a power of two at least its length
    (it comes from the RFC's splits), so the decomposition follows the bits of its length.
    """
    if not 0 <= lo < hi:
        raise ValueError(f"empty or negative range {lo}..{hi}")
    out: list[Node] = []
    while lo < hi:
        level = min((lo & -lo).bit_length() - 1 if lo else 64, (hi - lo).bit_length() - 1)
        out.append((level, lo >> level))
        lo += 1 << level
    return out


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its complete subtrees (largest first): combined right to left."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def range_hash(lo: int, hi: int, node: Callable[[Node], bytes]) -> bytes:
    """MTH(D[lo:hi]) given a way to read the hash of a complete subtree."""
    return fold([node(n) for n in range_nodes(lo, hi)])


def node_hash_from_leaves(n: Node, leaf_hashes: Sequence[bytes]) -> bytes:
    """A complete subtree's hash from all the leaf hashes (for tests and small trees)."""
    level, index = n
    return root(leaf_hashes[index << level : (index + 1) << level])


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, from every leaf hash (the in-memory reference)."""
    return [root(leaf_hashes[lo:hi]) for lo, hi in inclusion_ranges(index, len(leaf_hashes))]


def consistency_proof(first: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1, from every leaf hash (the in-memory reference)."""
    return [root(leaf_hashes[lo:hi]) for lo, hi in consistency_ranges(first, len(leaf_hashes))]


# ------------------------------------------------------------------- the frontier ------
def frontier_levels(size: int) -> list[int]:
    """Levels of the complete subtrees of D[0:size], largest first (the bits of size)."""
    return [b for b in range(size.bit_length() - 1, -1, -1) if size >> b & 1]


def append_leaf(
    size: int, frontier: Sequence[bytes], new_leaf_hash: bytes
) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """Add leaf ``size``: the new frontier and the complete subtrees it closes, level >= 1.

    ``frontier`` is the hashes of ``range_nodes(0, size)`` (largest first); appending is a
    binary increment: each trailing 1 bit of ``size`` merges with the new hash.
    """
    out = list(frontier)
    closed: list[tuple[int, int, bytes]] = []
    h, level, new_size = new_leaf_hash, 0, size + 1
    while size >> level & 1:
        h = node_hash(out.pop(), h)
        level += 1
        closed.append((level, (new_size >> level) - 1, h))
    out.append(h)
    return out, closed


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    return fold(frontier) if frontier else EMPTY_ROOT


# ---------------------------------------------------------------------- verifiers ------
def _hashes(*values: bytes) -> bool:
    """Every value is a SHA-256 output (an empty or short "hash" proves nothing)."""
    return all(len(v) == HASH_SIZE for v in values)


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2, step by step. ``leaf`` is the leaf hash."""
    if index >= size or index < 0 or not _hashes(leaf, expected_root, *proof):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2, step by step (with §2.1.4.2's trivial cases for equal sizes)."""
    if first > second or first < 0:
        return False
    if first == second:
        # Nothing to prove: the same tree head twice; the empty tree has one root (§2.1.1).
        same = not proof and first_root == second_root
        return same and (first > 0 or first_root == EMPTY_ROOT)
    if not _hashes(first_root, second_root, *proof):
        return False
    if first == 0:
        return False  # RFC 9162 §2.1.4: no proof from the empty tree (any tree extends it)
    if not proof:
        return False
    path = list(proof)
    # Step 1: if first is an exact power of 2, prepend first_hash to the path.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # Step 2-3: fn = first - 1, sn = second - 1; shift right while LSB(fn) is set.
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 4: fr and sr start as the first hash of the path.
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
