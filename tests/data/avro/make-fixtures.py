#!/usr/bin/env python3
"""Writes the evolution fixtures of the Avro contract with an independent implementation.

For every schema revision (schemas/avro/<family>.avsc and history/<family>.v<N>.avsc) and
every command in examples.jsonl of that family, fastavro encodes the command with that
revision and frames it as Avro single-object encoding (C3 01, the 8-byte little-endian
CRC-64-AVRO fingerprint computed by fastavro, the body). The C tests decode every file.
Also writes fingerprints.txt: "<schema file> <fingerprint as LE hex> <PCF>" per revision.

Run from anywhere:  python3 make-fixtures.py   (needs: pip install fastavro)
Fixtures of earlier revisions must never change once written: they are what old producers
really sent. This script only creates files that do not exist yet, unless --force.
"""
import io
import json
import os
import sys

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
SCHEMAS = os.path.join(ROOT, "schemas", "avro")


def to_fastavro(t, v, ns=None):
    """The fastavro value of v, given in the JSON form of ax_encode_json, for schema t."""
    if isinstance(t, str):
        if t == "bytes":
            return bytes.fromhex(v)
        return v
    if isinstance(t, list):
        if v is None:
            return None
        others = [b for b in t if b != "null"]
        if len(others) == 1:
            return to_fastavro(others[0], v, ns)
        ((key, val),) = v.items()
        for b in t:
            name = b.get("name") if isinstance(b, dict) else b
            full = name if "." in name or ns is None else ns + "." + name
            if key in (name, full):
                return (full, to_fastavro(b, val, ns))
        raise KeyError(key)
    typ = t["type"]
    if isinstance(typ, (dict, list)):
        return to_fastavro(typ, v, ns)
    if typ == "record":
        ns = t.get("namespace", ns)
        return {f["name"]: to_fastavro(f["type"], v[f["name"]], ns)
                for f in t["fields"] if f["name"] in v}
    if typ == "fixed":
        return bytes.fromhex(v)
    if typ == "array":
        return [to_fastavro(t["items"], x, ns) for x in v]
    if typ == "map":
        return {k: to_fastavro(t["values"], x, ns) for k, x in v.items()}
    return to_fastavro(typ, v, ns)


def family_of(cmd):
    branch = next(iter(cmd["payload"]))
    for fam in ("control", "data", "audit"):
        s = json.load(open(os.path.join(SCHEMAS, fam + ".avsc")))
        for f in s["fields"]:
            if f["name"] == "payload" and any(b["name"] == branch for b in f["type"]):
                return fam
    raise KeyError(branch)


def main():
    force = "--force" in sys.argv
    files = sorted(f for f in os.listdir(SCHEMAS) if f.endswith(".avsc"))
    files += sorted("history/" + f for f in os.listdir(os.path.join(SCHEMAS, "history")))
    cmds = [json.loads(l) for l in open(os.path.join(HERE, "examples.jsonl")) if l.strip()]
    fps = []
    for rel in files:
        raw = json.load(open(os.path.join(SCHEMAS, rel)))
        fam = os.path.basename(rel).split(".")[0]
        pcf = to_parsing_canonical_form(raw)
        fp = fingerprint(pcf, "CRC-64-AVRO")
        fps.append("%s %s %s" % (rel, fp, pcf))
        parsed = fastavro.parse_schema(raw)
        stem = rel.replace("history/", "").replace(".avsc", "")
        if stem == fam:
            stem = fam + ".current"
        outdir = os.path.join(HERE, "fixtures", stem)
        os.makedirs(outdir, exist_ok=True)
        for i, cmd in enumerate(cmds):
            if family_of(cmd) != fam:
                continue
            branch = next(iter(cmd["payload"]))
            payload_type = [f for f in raw["fields"] if f["name"] == "payload"][0]["type"]
            if not any(b["name"] == branch for b in payload_type):
                continue  # a branch added after this revision
            path = os.path.join(outdir, "%02d-%s.bin" % (i, branch))
            if os.path.exists(path) and not force:
                continue
            body = io.BytesIO()
            fastavro.schemaless_writer(body, parsed, to_fastavro(raw, cmd))
            with open(path, "wb") as fh:
                fh.write(b"\xc3\x01" + bytes.fromhex(fp) + body.getvalue())
    with open(os.path.join(HERE, "fingerprints.txt"), "w") as fh:
        fh.write("# <schema file> <CRC-64-AVRO as little-endian hex> <Parsing Canonical Form>,"
                 " computed by fastavro %s\n" % fastavro.__version__)
        fh.write("\n".join(fps) + "\n")


if __name__ == "__main__":
    main()
