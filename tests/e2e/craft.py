"""An attacker's tools: objects, caches and remotes written by hand.

cairn's own writers refuse to create a tree entry like '../../x', so the trust-
boundary tests build hostile data here, byte for byte from doc/formats.md, the
way a malicious teammate or a compromised bucket would: objects with correct
oids (so every checksum passes) whose *content* tries to lead cairn astray.
Only the Python standard library is used.
"""

import hashlib
import os
import struct

PACK_MAGIC = b"CAIRNPK1"
INDEX_HEADER = b"cairn-packidx 1\n"
REMOTE_MARKER = (b"cairn-remote 1\nchunking fastcdc gear=splitmix64/cairncdc "
                 b"min=16384 avg=65536 max=262144\n")
CHUNK_MIN = 16384  # objects smaller than this are one chunk (no recipe)


def oid_of(data):
    return hashlib.sha256(data).hexdigest()


def tree(entries):
    """A tree object; entries are (path, data) or (path, data, executable).

    Paths are written as given, without the checks cairn makes, and sorted by
    byte order as a real tree is (so only the names are hostile)."""
    lines = []
    for e in sorted(entries, key=lambda e: e[0].encode()):
        path, data = e[0], e[1]
        mode = "755" if len(e) > 2 and e[2] else "644"
        lines.append("%s %d %s %s\n" % (mode, len(data), oid_of(data), path))
    return ("cairn-tree 1\n" + "".join(lines)).encode()


def version(dataset, kind, obj_oid, size, files, filename=None, time=1700000000):
    out = ("cairn-version 1\ndataset %s\nkind %s\nobject sha256:%s\nsize %d\nfiles %d\n"
           "author mallory\ntime %d\nmessage crafted\n" % (dataset, kind, obj_oid, size, files, time))
    if filename is not None:
        out += "filename %s\n" % filename
    return out.encode()


def pointer(dataset, version_oid, kind, obj_oid, size, files):
    return ("# cairn pointer: commit this file to git; the data lives in the cairn cache and remotes\n"
            "format 1\ndataset %s\nversion sha256:%s\nkind %s\nobject sha256:%s\nsize %d\nfiles %d\n"
            % (dataset, version_oid, kind, obj_oid, size, files)).encode()


def tag(version_oid, golden=False):
    return ("cairn-tag 1\nversion sha256:%s\ngolden %s\nauthor mallory\ntime 1700000000\nmessage crafted\n"
            % (version_oid, "true" if golden else "false")).encode()


def escape_dataset(name):
    return name.replace("%", "%25").replace("/", "%2F")


def put_loose(cairn_dir, data):
    """Stores `data` as a loose object in a local cache; returns its hex oid."""
    h = oid_of(data)
    d = os.path.join(cairn_dir, "cache", "sha256", h[:2])
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, h[2:])
    if os.path.exists(p):
        os.chmod(p, 0o644)
    with open(p, "wb") as f:
        f.write(data)
    return h


def _write(root, key, data):
    p = os.path.join(root, *key.split("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)


def write_remote(root, objects, tags=(), runs=()):
    """Writes a directory remote holding `objects` (bytes, each < 16 KiB, one
    raw chunk each) in one pack with its index, then the given tags
    ((dataset, name, version hex)) and runs ((run id, record hex))."""
    pack = bytearray(PACK_MAGIC)
    entries = []
    for data in objects:
        assert len(data) < CHUNK_MIN, "craft.write_remote keeps objects to one chunk"
        entries.append((bytes.fromhex(oid_of(data)), len(pack), len(data)))
        pack += data
    pack = bytes(pack)
    pack_hex = oid_of(pack)
    entries.sort()
    idx = bytearray(INDEX_HEADER)
    idx += b"pack %s %d\n" % (pack_hex.encode(), len(pack))
    idx += b"chunks %d\n" % len(entries)
    idx += b"recipes 0\n"
    for oid, offset, length in entries:
        idx += oid + struct.pack("<QIIB", offset, length, length, 0)
    idx += hashlib.sha256(bytes(idx)).digest()
    _write(root, "cairn-remote", REMOTE_MARKER)
    _write(root, "packs/%s.pack" % pack_hex, pack)
    _write(root, "packs/%s.idx" % pack_hex, bytes(idx))
    for dataset, name, version_hex in tags:
        _write(root, "refs/tags/%s/%s" % (escape_dataset(dataset), name), tag(version_hex))
    for run_id, record_hex in runs:
        _write(root, "refs/runs/%s/%s" % (run_id, record_hex), b"sha256:%s\n" % record_hex.encode())
