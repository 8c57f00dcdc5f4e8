#!/usr/bin/env python3
"""Writes the synthetic golden files of tests/data/formats/ and their expected records.

Each input is written from its format's documented shape (the source that prints it: the PDQ
C++ `pdq-photo-hasher.cpp`, python-threatexchange `cli/dataset_cmd.py` / `cli/hash_cmd.py`,
hashsieve's own writers), and next to it `<name>.expected`: JSON lines, the first
`{"format": ...}` (the format a reader must detect), then one object per item the reader must
give, in order: `{"line": n, "record": {kind, hash, quality, id, categories, source,
orientation}}`, `{"line": n, "skip": reason}` or `{"line": n, "malformed": true}`.

The hashes are sha256 digests of labels (arbitrary values, not of any image). Run from this
directory: `python3 make.py`. The real tool outputs are in real/ (see SOURCES.md).
"""
import base64
import csv
import hashlib
import io
import json
import os


def h(label, bits=256):
    return hashlib.sha256(label.encode()).hexdigest()[: bits // 4]


def rec(line, hash, kind="pdq", quality=None, id=None, categories=(), source=None, orientation=None):
    return {"line": line, "record": {"kind": kind, "hash": hash, "quality": quality, "id": id,
                                     "categories": list(categories), "source": source,
                                     "orientation": orientation}}


def skip(line, reason):
    return {"line": line, "skip": reason}


def bad(line):
    return {"line": line, "malformed": True}


def write(name, fmt, data, items):
    os.makedirs(os.path.dirname(name), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(name, "wb") as f:
        f.write(data)
    with open(name + ".expected", "w") as f:
        f.write(json.dumps({"format": fmt}) + "\n")
        for it in items:
            f.write(json.dumps(it) + "\n")


DIH = ["orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"]
TOOL = ["orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipp", "flipm"]

# ---- hex (pdq/cpp/io/hashio.cpp: `[hash=]<hex>[,<metadata>]`, metadata = after the first comma)
a, b, c = h("hex-a"), h("hex-b"), h("hex-c")
write("hex/plain.txt", "hex", f"{a}\n{b}\n{c}\n",
      [rec(1, a), rec(2, b), rec(3, c)])
write("hex/metadata.txt", "hex",
      "\ufeff# a comment\r\n" + f"hash={a},meta,with,commas\r\n\r\n{b.upper()},second\r\n{c},x y\r\n",
      [rec(2, a, id="meta,with,commas"), rec(4, b, id="second"), rec(5, c, id="x y")])
p1, p2 = h("phash-1", 64), h("phash-2", 64)
write("hex/phash.txt", "hex", f"{p1}\n{p2},id2\n", [rec(1, p1, "phash"), rec(2, p2, "phash", id="id2")])
# A hex line whose id is bad hex-length text in the middle: malformed, not the end of the file.
write("hex/bad-line.txt", "hex", f"{a},ok\n{a[:40]},short\n{b},ok2\n",
      [rec(1, a, id="ok"), bad(2), rec(3, b, id="ok2")])

# ---- pdq-photo-hasher (pdq/cpp/bin/pdq-photo-hasher.cpp)
files = [("imgs/a.jpg", 100), ("imgs/my cat, copy.png", 87), ("imgs/flat.png", 0)]
hs = {f: [h(f"pdq-{f}-{d}") for d in DIH] for f, _ in files}
lines, items = [], []
for f, q in files:
    lines.append(f"{hs[f][0]},{q},{f}")
    items.append(rec(len(lines), hs[f][0], quality=q, id=f))
write("pdq-hasher/default.txt", "pdq-hasher", "\n".join(lines) + "\n", items)

lines, items = [], []
prev = None
for f, q in files:
    lines.append(f"hash={hs[f][0]},norm=128,delta=0,quality={q},filename={f}")
    items.append(rec(len(lines), hs[f][0], quality=q, id=f))
write("pdq-hasher/details.txt", "pdq-hasher", "\n".join(lines) + "\n", items)

lines, items = [], []
for f, q in files:
    for i in range(8):
        lines.append(f"{hs[f][i]},{q},{f}")
        items.append(rec(len(lines), hs[f][i], quality=q, id=f))  # orientation not printed
write("pdq-hasher/pdqdih.txt", "pdq-hasher", "\n".join(lines) + "\n", items)

lines, items = [], []
for f, q in files:
    lines.append(f"hash={hs[f][0]},quality={q},filename={f}")
    items.append(rec(len(lines), hs[f][0], quality=q, id=f))
    for i in range(8):
        lines.append(f"hash={hs[f][i]},xform={TOOL[i]},filename={f}")
        if i == 0:
            items.append(skip(len(lines), "duplicate"))
        else:
            items.append(rec(len(lines), hs[f][i], quality=q, id=f, orientation=DIH[i]))
write("pdq-hasher/pdqdih-details.txt", "pdq-hasher", "\n".join(lines) + "\n", items)

lines, items = [], []
for f, q in files:
    lines.append(",".join(hs[f]) + f",{q},{f}")
    for i in range(8):
        items.append(rec(len(lines), hs[f][i], quality=q, id=f, orientation=DIH[i]))
write("pdq-hasher/pdqdih-across.txt", "pdq-hasher", "\n".join(lines) + "\n", items)

lines, items = [], []
for f, q in files:
    parts = [f"hash={hs[f][0]}", f"quality={q}"] + [f"{t}={x}" for t, x in zip(TOOL, hs[f])]
    lines.append(",".join(parts) + f",filename={f}")
    for i in range(8):
        items.append(rec(len(lines), hs[f][i], quality=q, id=f, orientation=DIH[i]))
write("pdq-hasher/pdqdih-across-details.txt", "pdq-hasher", "\n".join(lines) + "\n", items)

# ---- python-threatexchange (cli/hash_cmd.py, cli/dataset_cmd.py _print_stdout/_print_csv)
x1, x2, x3 = h("tx-1"), h("tx-2"), h("tx-3")
write("pytx/hash-photo.txt", "pytx-signals", f"pdq {x1}\npdq {x2}\n", [rec(1, x1), rec(2, x2)])
rot = ["ORIGINAL", "ROTATE90", "ROTATE180", "ROTATE270", "FLIPX", "FLIPY", "FLIPPLUS1", "FLIPMINUS1"]
rh = [h(f"rot-{r}") for r in rot]
write("pytx/hash-photo-rotations.txt", "pytx-signals",
      "".join(f"{r} pdq {x}\n" for r, x in zip(rot, rh)),
      [rec(i + 1, x, orientation=DIH[i]) for i, x in enumerate(rh)])
trend = 'trend_query {"and": [{"or": ["a", "b"]}], "not": ["c"]}'
write("pytx/dataset-P.txt", "pytx-signals",
      f"{trend} 'Collab A' POSITIVE_CLASS\n"
      "video_md5 d41d8cd98f00b204e9800998ecf8427e 'Collab A' INVESTIGATION_SEED\n"
      "raw_text We the People, in Order 'Collab A' POSITIVE_CLASS\n"
      f"pdq {x1} 'Collab A' POSITIVE_CLASS bridge,blue sky\n"
      f"pdq {x2} \"Bob's List\" NEGATIVE_CLASS\n"
      f"pdq {x3} 'Collab A' DISPUTED\n"
      "url https://example.com/a 'Collab A' POSITIVE_CLASS\n",
      [skip(1, "other-signal-type"), skip(2, "other-signal-type"), skip(3, "other-signal-type"),
       rec(4, x1, categories=["category:POSITIVE_CLASS", "tag:bridge", "tag:blue", "tag:sky"], source="Collab A"),
       rec(5, x2, categories=["category:NEGATIVE_CLASS"], source="Bob's List"),
       rec(6, x3, categories=["category:DISPUTED"], source="Collab A"),
       skip(7, "other-signal-type")])
write("pytx/dataset-P-S.txt", "pytx-signals",
      "video_md5 d41d8cd98f00b204e9800998ecf8427e\n"
      f"{trend}\n"
      f"pdq {x1}\n"
      "url_md5 c4ca4238a0b923820dcc509a6f75849b\n"
      f"pdq {x2}\n",
      [skip(1, "other-signal-type"), skip(2, "other-signal-type"), rec(3, x1),
       skip(4, "other-signal-type"), rec(5, x2)])
write("pytx/dataset-P-s-pdq.txt", "pytx-signals",
      f"{x1} 'Collab A' POSITIVE_CLASS t1\n{x2} 'Collab B' INVESTIGATION_SEED\n",
      [rec(1, x1, categories=["category:POSITIVE_CLASS", "tag:t1"], source="Collab A"),
       rec(2, x2, categories=["category:INVESTIGATION_SEED"], source="Collab B")])
write("pytx/dataset-P-c.txt", "pytx-signals",
      f"video_md5 d41d8cd98f00b204e9800998ecf8427e POSITIVE_CLASS\npdq {x1} POSITIVE_CLASS a,b\n",
      [skip(1, "other-signal-type"),
       rec(2, x1, categories=["category:POSITIVE_CLASS", "tag:a", "tag:b"])])


def pytx_csv(rows, header=("signal_type", "signal_str", "collab", "category", "tags"),
             quoting=csv.QUOTE_MINIMAL, bom=False):
    out = io.StringIO()
    w = csv.DictWriter(out, list(header), quoting=quoting)  # Python's csv: CRLF line ends
    w.writeheader()
    for r in rows:
        w.writerow(dict(zip(("signal_type", "signal_str", "collab", "category", "tags"), r)))
    return ("\ufeff" if bom else "") + out.getvalue()


rows = [("video_md5", "d41d8cd98f00b204e9800998ecf8427e", "Collab A", "POSITIVE_CLASS", ""),
        ("pdq", x1, "Collab A", "POSITIVE_CLASS", "bridge blue"),
        ("pdq", x2, "Bob's List", "NEGATIVE_CLASS", ""),
        ("pdq", x3, "Collab, Inc", "INVESTIGATION_SEED", "two\nlines say \"hi\"")]
exp = [skip(2, "other-signal-type"),
       rec(3, x1, categories=["category:POSITIVE_CLASS", "tag:bridge", "tag:blue"], source="Collab A"),
       rec(4, x2, categories=["category:NEGATIVE_CLASS"], source="Bob's List"),
       rec(5, x3, categories=["category:INVESTIGATION_SEED", "tag:two", "tag:lines", "tag:say", 'tag:"hi"'],
           source="Collab, Inc")]
write("pytx/dataset.csv", "pytx-csv", pytx_csv(rows), exp)
write("pytx/dataset-reordered-quoted-bom.csv", "pytx-csv",
      pytx_csv(rows, header=("tags", "category", "signal_str", "collab", "signal_type"),
               quoting=csv.QUOTE_ALL, bom=True), exp)

# ---- hashsieve's own output (src/bin/hashsieve/{hash,scan}.rs; TSV escapes of issue 11)
q1, q2 = h("hs-1"), h("hs-2")
ph1, dh1 = h("hs-ph", 64), h("hs-dh", 64)
write("hashsieve/hash.tsv", "hashsieve",
      "path\talgorithm\thash\tquality\n"
      f"a.jpg\tpdq\t{q1}\t100\n"
      f"a.jpg\tphash\t{ph1}\t\n"
      f"a.jpg\tdhash\t{dh1}\t\n"
      f"dir\\tx\\\\y.png\tpdq\t{q2}\t90\n"
      f"x\\xff.jpg\tpdq\t{q2}\t90\n"
      f"caf\\xc3\\xa9.jpg\tpdq\t{q1}\t80\n"
      "broken.jpg\tpdq\t\t\n",
      [rec(2, q1, quality=100, id="a.jpg"), rec(3, ph1, "phash", id="a.jpg"),
       rec(4, dh1, "dhash", id="a.jpg"), rec(5, q2, quality=90, id="dir\tx\\y.png"),
       rec(6, q2, quality=90, id="x\\xff.jpg"), rec(7, q1, quality=80, id="café.jpg"),
       skip(8, "no-hash")])
write("hashsieve/hash.csv", "hashsieve",
      "path,algorithm,hash,quality\r\n"
      f"a.jpg,pdq,{q1},100\r\n"
      f"a.jpg,phash,{ph1},\r\n"
      f"\"b, c.jpg\",pdq,{q2},77\r\n",
      [rec(2, q1, quality=100, id="a.jpg"), rec(3, ph1, "phash", id="a.jpg"),
       rec(4, q2, quality=77, id="b, c.jpg")])
bpath = base64.b64encode(b"x\xff.jpg").decode()
bpath_utf8 = base64.b64encode("é.jpg".encode()).decode()
write("hashsieve/hash.jsonl", "hashsieve",
      json.dumps({"path": "a.jpg", "algorithm": "pdq", "hash": q1, "quality": 100}) + "\n" +
      json.dumps({"path": "a.jpg", "algorithm": "phash", "hash": ph1, "quality": None}) + "\n" +
      json.dumps({"path": {"bytes": bpath}, "algorithm": "pdq", "hash": q2, "quality": 90}) + "\n" +
      json.dumps({"path": {"bytes": bpath_utf8}, "algorithm": "pdq", "hash": q1, "quality": 90}) + "\n" +
      json.dumps({"type": "summary", "files": 3, "errors": 0}) + "\n",
      [rec(1, q1, quality=100, id="a.jpg"), rec(2, ph1, "phash", id="a.jpg"),
       rec(3, q2, quality=90, id="x\\xff.jpg"), rec(4, q1, quality=90, id="é.jpg")])
dh = [h(f"hs-dih-{d}") for d in DIH]
write("hashsieve/hash-dihedral.tsv", "hashsieve",
      "path\talgorithm\thash\tquality\torientation\n" +
      "".join(f"a.jpg\tpdq\t{x}\t95\t{d}\n" for x, d in zip(dh, DIH)),
      [rec(i + 2, x, quality=95, id="a.jpg", orientation=d) for i, (x, d) in enumerate(zip(dh, DIH))])
SCAN = ["path", "status", "algorithm", "hash", "quality", "list", "entry_id", "distance",
        "orientation", "detail"]
scan_rows = [
    ["a.jpg", "match", "pdq", q1, "100", "L", "e1", "0", "", ""],
    ["a.jpg", "match", "pdq", q1, "100", "L", "e2", "4", "", ""],
    ["a.jpg", "match", "pdq", q1, "100", "L", "e3", "12", "rot90", ""],
    ["b.jpg", "no_match", "pdq", q2, "88", "", "", "", "", ""],
    ["c.txt", "error", "", "", "", "", "", "", "", "not an image"],
    ["flat.png", "skipped", "pdq", h("flat"), "0", "", "", "", "", "quality 0 below 50"],
]
# The orientation column of a scan row is the match's; the hash is always the file's.
scan_exp = lambda first: [rec(first, q1, quality=100, id="a.jpg"), skip(first + 1, "duplicate"),
                          skip(first + 2, "duplicate"),
                          rec(first + 3, q2, quality=88, id="b.jpg"), skip(first + 4, "no-hash"),
                          skip(first + 5, "no-hash")]
write("hashsieve/scan.tsv", "hashsieve",
      "# hashsieve scan: lists L (v1), threshold pdq=31\n" + "\t".join(SCAN) + "\n" +
      "".join("\t".join(r) + "\n" for r in scan_rows), scan_exp(3))
out = io.StringIO()
w = csv.writer(out, lineterminator="\n")
w.writerow(SCAN)
w.writerows(scan_rows)
write("hashsieve/scan.csv", "hashsieve", out.getvalue(), scan_exp(2))


def scan_json(r):
    o = dict(zip(SCAN, r))
    for k in ("quality", "distance"):
        o[k] = int(o[k]) if o[k] else None
    return json.dumps(o)


write("hashsieve/scan.jsonl", "hashsieve",
      json.dumps({"type": "header", "lists": [{"name": "L", "version": "1"}]}) + "\n" +
      "".join(scan_json(r) + "\n" for r in scan_rows), scan_exp(2))

# ---- hashsieve export (src/list/export.rs; pdq-hasher and pytx-csv shapes as above)
e1, e2 = h("ex-1"), h("ex-2")
write("export/export.csv", "csv",
      "hash,id,quality,categories,source\n"
      f"{e1},id-1,90,uk:A tag:x,partner\n"
      f"{e2},\"id, 2\",,,\n",
      [rec(2, e1, quality=90, id="id-1", categories=["uk:A", "tag:x"], source="partner"),
       rec(3, e2, id="id, 2")])
write("export/export.jsonl", "jsonl",
      json.dumps({"hash": e1, "id": "id-1", "quality": 90, "categories": ["uk:A", "tag:x"],
                  "source": "partner"}) + "\n" +
      json.dumps({"hash": e2, "id": "id, 2"}) + "\n",
      [rec(1, e1, quality=90, id="id-1", categories=["uk:A", "tag:x"], source="partner"),
       rec(2, e2, id="id, 2")])
write("export/export-hex.txt", "hex", f"{e1}\n{e2}\n", [rec(1, e1), rec(2, e2)])
write("export/export-hex-ids.txt", "hex", f"{e1},id-1\n{e2},id, 2\n",
      [rec(1, e1, id="id-1"), rec(2, e2, id="id, 2")])
write("export/export-pdq-hasher.txt", "pdq-hasher", f"{e1},90,id-1\n{e2},,id, 2\n",
      [rec(1, e1, quality=90, id="id-1"), rec(2, e2, id="id, 2")])
write("export/export-pytx.csv", "pytx-csv",
      pytx_csv([("pdq", e1, "partner", "POSITIVE_CLASS", "x")]),
      [rec(2, e1, categories=["category:POSITIVE_CLASS", "tag:x"], source="partner")])

# ---- generic tables with named columns
write("generic/named.tsv", "tsv",
      "id\thash\tcategories\n"
      f"n1\t{e1}\tuk:A\n"
      f"n2\t{e2}\t\n",
      [rec(2, e1, id="n1", categories=["uk:A"]), rec(3, e2, id="n2")])
write("generic/named.jsonl", "jsonl",
      json.dumps({"hash": e1, "id": 7, "categories": "uk:A urgent"}) + "\n",
      [rec(1, e1, id="7", categories=["uk:A", "tag:urgent"])])
