"""The Avro contract of Axiom (schemas/avro): every revision of every family, its
single-object-encoding fingerprint, and the encoder and decoder of the wire format.

Wire format (docs/producers.md, "Wire format"): the two bytes C3 01, the 8-byte
little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form, then
the Avro binary body. Not the Confluent 5-byte format (magic 0 + 4-byte registry id): Axiom
has no schema registry; the fingerprint names the writer schema by its content.

Union branches are chosen by NAME only: a payload is a tuple (branch, fields), for example
("ApproveChange", {"change_id": ...}). fastavro would otherwise pick the first branch whose
fields fit the dict, and SubmitChange, ApproveChange, RejectChange have the same shape
(issue 14, item 4): a dict payload is refused here.
"""
import io
import json
import os
import re
import uuid

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

NAMESPACE = "axiom.v1"
MAGIC = b"\xc3\x01"
HEADER_LEN = 10
FAMILIES = ("control", "data", "audit")
BUNDLED_SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")
UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ContractError(ValueError):
    """A command that the contract does not allow (it would be quarantined or misread)."""


def _strip_logical(t):
    """t without logicalType: fastavro then reads uuids and times as plain text and ints."""
    if isinstance(t, list):
        return [_strip_logical(b) for b in t]
    if isinstance(t, dict):
        return {k: _strip_logical(v) for k, v in t.items() if k != "logicalType"}
    return t


class Revision:
    """One revision of one family: its schema, fingerprint and fastavro forms."""

    def __init__(self, family, number, schema):
        self.family = family
        self.number = number  # None for the current revision
        self.schema = schema
        self.fingerprint = bytes.fromhex(
            fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
        self.writer = fastavro.parse_schema(schema)
        self.reader = fastavro.parse_schema(_strip_logical(schema))
        payload = next(f for f in schema["fields"] if f["name"] == "payload")
        self.branches = [b["name"] for b in payload["type"]]


class Contract:
    """Every revision of schemas/avro (the bundled copy, or schema_dir)."""

    def __init__(self, schema_dir=None):
        d = schema_dir or BUNDLED_SCHEMAS
        self.current = {}
        self.by_fingerprint = {}
        for fam in FAMILIES:
            with open(os.path.join(d, fam + ".avsc"), encoding="utf-8") as f:
                rev = Revision(fam, None, json.load(f))
            self.current[fam] = rev
            self.by_fingerprint[rev.fingerprint] = rev
            hist = os.path.join(d, "history")
            for name in sorted(os.listdir(hist)) if os.path.isdir(hist) else []:
                m = re.match(r"^%s\.v(\d+)\.avsc$" % fam, name)
                if m:
                    with open(os.path.join(hist, name), encoding="utf-8") as f:
                        old = Revision(fam, int(m.group(1)), json.load(f))
                    self.by_fingerprint[old.fingerprint] = old

    def family_of(self, branch):
        """The family (control or data) whose payload union has this branch."""
        short = branch.rsplit(".", 1)[-1]
        for fam in ("control", "data"):
            if short in self.current[fam].branches:
                return fam
        raise ContractError("payload branch %r is in neither control.avsc nor data.avsc" % branch)

    def encode(self, command, family=None):
        """(family, framed bytes) of a command: a dict whose payload is (branch, fields)."""
        cmd = dict(command)
        payload = cmd.get("payload")
        if not (isinstance(payload, tuple) and len(payload) == 2 and isinstance(payload[0], str)
                and isinstance(payload[1], dict)):
            raise ContractError(
                "payload must be a tuple (branch name, fields), for example "
                "(\"ApproveChange\", {\"change_id\": ...}): a bare dict would let the encoder "
                "choose the branch by shape")
        branch = payload[0].rsplit(".", 1)[-1]
        fam = self.family_of(branch)
        if family is not None and family != fam:
            raise ContractError("branch %s belongs to the %s topic, not %s" % (branch, fam, family))
        cmd["payload"] = ("%s.%s" % (NAMESPACE, branch), dict(payload[1]))
        for k in ("command_id", "lineage_id"):
            if isinstance(cmd.get(k), uuid.UUID):
                cmd[k] = str(cmd[k])
        if not UUID_TEXT.match(str(cmd.get("command_id", ""))):
            raise ContractError("command_id must be a UUID in 36-character lower-case text")
        if fam == "data" and not UUID_TEXT.match(str(cmd.get("lineage_id", ""))):
            raise ContractError("lineage_id must be a UUID in 36-character lower-case text")
        rev = self.current[fam]
        body = io.BytesIO()
        try:
            # strict: an unknown or missing field is an error (a missing one with a
            # default takes the default), not silently dropped
            fastavro.schemaless_writer(body, rev.writer, cmd, strict_allow_default=True)
        except (ValueError, TypeError, KeyError) as e:
            raise ContractError("the command does not fit %s.avsc: %s" % (fam, e)) from e
        return fam, MAGIC + rev.fingerprint + body.getvalue()

    def decode(self, raw):
        """(revision, value) of framed bytes; unions of records come back as (name, fields)."""
        if len(raw) < HEADER_LEN or raw[:2] != MAGIC:
            raise ContractError("not Avro single-object encoding (no C3 01 header)")
        rev = self.by_fingerprint.get(bytes(raw[2:HEADER_LEN]))
        if rev is None:
            raise ContractError("unknown fingerprint %s" % bytes(raw[2:HEADER_LEN]).hex())
        value = fastavro.schemaless_reader(io.BytesIO(raw[HEADER_LEN:]), rev.reader,
                                           return_record_name=True)
        return rev, value
