#!/usr/bin/env python3
"""Interoperability of the C codec with an independent Avro implementation (fastavro).

Direction 1: fastavro encodes commands with every revision of every schema in
schemas/avro (single-object framing, fastavro's own CRC-64-AVRO fingerprint); the C codec
(codec_tool decode) must decode each to the same values, with the current schema's defaults
for fields the writer's revision lacks.
Direction 2: the C codec (codec_tool encode) encodes the same commands; fastavro must find
the current schema's fingerprint in the header and decode the body to the same values.

Commands: the examples plus N random commands per family drawn from the schemas
(random Unicode text, 64-bit extremes, empty and random bytes, every branch and symbol).
usage: interop.py CODEC_TOOL SCHEMA_DIR EXAMPLES.jsonl WORKDIR [N] [SEED]
"""
import copy
import io
import json
import os
import random
import subprocess
import sys
import uuid

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

FAMILIES = ("control", "data", "audit")


def strip_logical(t):
    """t without logicalType attributes: fastavro then reads uuids and times as plain values."""
    if isinstance(t, list):
        return [strip_logical(b) for b in t]
    if isinstance(t, dict):
        return {k: strip_logical(v) for k, v in t.items() if k != "logicalType"}
    return t


def to_fa(t, v):
    """The fastavro value of v (JSON form of the C codec) for schema t."""
    if isinstance(t, str):
        return bytes.fromhex(v) if t == "bytes" else v
    if isinstance(t, list):
        if v is None:
            return None
        others = [b for b in t if b != "null"]
        if len(others) == 1:
            return to_fa(others[0], v)
        ((k, val),) = v.items()
        for b in t:
            if isinstance(b, dict) and b.get("name") == k:
                return ("axiom.v1." + k, to_fa(b, val))
        raise KeyError(k)
    typ = t["type"]
    if typ == "record":
        return {f["name"]: to_fa(f["type"], v[f["name"]]) for f in t["fields"] if f["name"] in v}
    if typ == "enum":
        return v
    return to_fa(typ, v)


def from_fa(t, v):
    """The JSON form of fastavro value v (read with return_record_name=True) for schema t."""
    if isinstance(t, str):
        return v.hex() if t == "bytes" else v
    if isinstance(t, list):
        if v is None:
            return None
        others = [b for b in t if b != "null"]
        if len(others) == 1:
            return from_fa(others[0], v)
        name, val = v
        for b in t:
            if isinstance(b, dict) and "axiom.v1." + b["name"] == name:
                return {b["name"]: from_fa(b, val)}
        raise KeyError(name)
    typ = t["type"]
    if typ == "record":
        return {f["name"]: from_fa(f["type"], v[f["name"]]) for f in t["fields"]}
    if typ == "enum":
        return v
    return from_fa(typ, v)


def expected(writer, current, v):
    """What the C codec must report for v written with writer: current fields, defaults filled."""
    if isinstance(current, dict) and current.get("type") == "record":
        wf = {f["name"]: f for f in writer["fields"]}
        out = {}
        for f in current["fields"]:
            if f["name"] in wf and f["name"] in v:
                out[f["name"]] = expected(wf[f["name"]]["type"], f["type"], v[f["name"]])
            else:
                out[f["name"]] = f.get("default")
        return out
    if isinstance(current, list) and isinstance(v, dict):
        ((k, val),) = v.items()
        cb = next(b for b in current if isinstance(b, dict) and b["name"] == k)
        wb = next(b for b in writer if isinstance(b, dict) and b["name"] == k)
        return {k: expected(wb, cb, val)}
    if isinstance(current, dict) and isinstance(current.get("type"), (dict, list)):
        return expected(writer["type"] if isinstance(writer, dict) else writer, current["type"], v)
    return v


def rand_text(r):
    alphabet = "abcXYZ019 _-./\"\\'{}é€𝄞漢字\u00a0\u2028\t\n"
    return "".join(r.choice(alphabet) for _ in range(r.randint(0, 24)))


def rand_value(r, t):
    """A random value in JSON form for schema t."""
    if isinstance(t, list):
        if t[0] == "null" and len(t) == 2:
            return None if r.random() < 0.3 else rand_value(r, t[1])
        b = r.choice(t)
        return {b["name"]: rand_value(r, b)}
    if isinstance(t, str):
        if t == "string":
            return rand_text(r)
        if t == "long":
            return r.choice([0, -1, 1, 2**63 - 1, -(2**63), r.randint(-(2**63), 2**63 - 1)])
        if t == "int":
            return r.choice([0, -1, 2**31 - 1, -(2**31), r.randint(-(2**31), 2**31 - 1)])
        if t == "boolean":
            return r.random() < 0.5
        if t == "bytes":
            return bytes(r.randrange(256) for _ in range(r.choice([0, 1, 32, r.randint(0, 80)]))).hex()
        raise ValueError(t)
    typ = t["type"]
    if typ == "record":
        return {f["name"]: rand_value(r, f["type"]) for f in t["fields"]}
    if typ == "enum":
        return r.choice(t["symbols"])
    if t.get("logicalType") == "uuid":
        return str(uuid.UUID(int=r.getrandbits(128)))
    return rand_value(r, typ)


def family_of(schemas, v):
    k = next(iter(v["payload"]))
    for fam in FAMILIES:
        for f in schemas[fam]["fields"]:
            if f["name"] == "payload" and any(b["name"] == k for b in f["type"]):
                return fam
    raise KeyError(k)


def main():
    tool, sdir, examples, work = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 200
    seed = int(sys.argv[6]) if len(sys.argv) > 6 else random.randrange(2**32)
    print("interop: fastavro %s, %d random commands per family, seed %d" % (fastavro.__version__, n, seed))
    r = random.Random(seed)
    current = {f: json.load(open(os.path.join(sdir, f + ".avsc"))) for f in FAMILIES}
    revisions = [(f, f + ".avsc", current[f]) for f in FAMILIES]
    for h in sorted(os.listdir(os.path.join(sdir, "history"))):
        revisions.append((h.split(".")[0], "history/" + h, json.load(open(os.path.join(sdir, "history", h)))))
    values = [json.loads(l) for l in open(examples) if l.strip()]
    for fam in FAMILIES:
        values += [rand_value(r, current[fam]) for _ in range(n)]
    failures = 0

    # 1. fastavro writes, C reads
    for fam, rel, schema in revisions:
        parsed = fastavro.parse_schema(strip_logical(schema))
        header = b"\xc3\x01" + bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
        d = os.path.join(work, "py", rel.replace("/", "_"))
        os.makedirs(d, exist_ok=True)
        mine = [v for v in values if family_of(current, v) == fam]
        files = []
        for i, v in enumerate(mine):
            payload_type = next(iter(v["payload"]))
            if not any(b["name"] == payload_type for f in schema["fields"] if f["name"] == "payload" for b in f["type"]):
                continue  # a branch this earlier revision does not have
            body = io.BytesIO()
            fastavro.schemaless_writer(body, parsed, to_fa(schema, v))
            path = os.path.join(d, "%04d.bin" % i)
            with open(path, "wb") as fh:
                fh.write(header + body.getvalue())
            files.append((path, expected(schema, current[fam], v)))
        out = subprocess.run([tool, "decode", fam] + [p for p, _ in files], capture_output=True, text=True, check=True)
        got = out.stdout.split("\n")[:-1]
        assert len(got) == len(files), (len(got), len(files))
        for (path, want), line in zip(files, got):
            if line.startswith("ERROR") or json.loads(line) != want:
                failures += 1
                if failures < 10:
                    print("FAIL fastavro->C %s\n  want %s\n  got  %s" % (path, json.dumps(want, sort_keys=True), line))
        print("fastavro -> C   %-26s %4d commands decoded" % (rel, len(files)))

    # 2. C writes, fastavro reads
    d = os.path.join(work, "c")
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    subprocess.run([tool, "encode", d], input="".join(json.dumps(v) + "\n" for v in values), text=True, check=True)
    count = 0
    for i, v in enumerate(values):
        fam = family_of(current, v)
        schema = current[fam]
        raw = open(os.path.join(d, "%02d-%s.bin" % (i, fam)), "rb").read()
        fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
        if raw[:2] != b"\xc3\x01" or raw[2:10] != fp:
            failures += 1
            print("FAIL C->fastavro %d: header %s" % (i, raw[:10].hex()))
            continue
        back = from_fa(schema, fastavro.schemaless_reader(io.BytesIO(raw[10:]), fastavro.parse_schema(strip_logical(schema)), return_record_name=True))
        if back != expected(schema, schema, v):
            failures += 1
            if failures < 10:
                print("FAIL C->fastavro %d\n  want %s\n  got  %s" % (i, json.dumps(v, sort_keys=True), json.dumps(back, sort_keys=True)))
        count += 1
    print("C -> fastavro   current schemas            %4d commands decoded" % count)
    print("interop: %s" % ("ok" if failures == 0 else "%d FAILURES (seed %d)" % (failures, seed)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
