#!/usr/bin/env python3
"""esign_helper.py - the outside parties of the e-signature tests (0600): an OIDC identity
provider that mints ES256 ID tokens, and a password signing gateway that signs attestations
(docs/signing-intent.md section 4). Keys live in a state directory.

    esign_helper.py DIR init                      -> prints JSON: jwks, attestor public key
    esign_helper.py DIR token SUB AUD NONCE [--exp-in S] [--iat-ago S] [--auth-ago S] [--kid K]
    esign_helper.py DIR attest KEY_ID INTENT_B64URL [--ago S]   -> hex proof (be64 us || sig)
    esign_helper.py sign-line ACTOR LINEAGE VERSION HASH MEANING NONCE FACTOR SIG_HEX TOKEN
"""
import base64
import json
import os
import struct
import sys
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def field(tag, b):
    return bytes([tag]) + struct.pack(">I", len(b)) + b


def load(d):
    idp = serialization.load_pem_private_key(open(os.path.join(d, "idp.pem"), "rb").read(), None)
    gw = serialization.load_pem_private_key(open(os.path.join(d, "gw.pem"), "rb").read(), None)
    return idp, gw


def main():
    a = sys.argv[1:]
    if a[0] == "sign-line":
        actor, lineage, version, rh, meaning, nonce, factor, sig, token = a[1:10]
        print(json.dumps({"command_id": str(uuid.uuid4()), "actor": actor,
                          "issued_at": int(time.time() * 1e6), "reason": "test signature",
                          "lineage_id": lineage, "payload": {"Sign": {
                              "version": int(version), "record_hash": rh, "meaning": meaning,
                              "nonce": nonce, "factor_id": factor, "client_data": "",
                              "authenticator_data": "", "signature": sig, "id_token": token}}}))
        return
    d, op = a[0], a[1]
    if op == "init":
        idp = ec.generate_private_key(ec.SECP256R1())
        gw = ed25519.Ed25519PrivateKey.generate()
        enc = serialization.Encoding.PEM
        fmt = serialization.PrivateFormat.PKCS8
        none = serialization.NoEncryption()
        open(os.path.join(d, "idp.pem"), "wb").write(idp.private_bytes(enc, fmt, none))
        open(os.path.join(d, "gw.pem"), "wb").write(gw.private_bytes(enc, fmt, none))
        n = idp.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
               "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big"))}
        raw = gw.public_key().public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
        print(json.dumps({"jwks": json.dumps({"keys": [jwk]}), "attestor_public_key": raw.hex()}))
        return
    idp, gw = load(d)
    opts = {}
    rest = a[2:]
    pos = [x for x in rest if not x.startswith("--")]
    for i, x in enumerate(rest):
        if x.startswith("--"):
            opts[x[2:]] = rest[i + 1]
    pos = []
    skip = False
    for x in rest:
        if skip:
            skip = False
            continue
        if x.startswith("--"):
            skip = True
            continue
        pos.append(x)
    now = int(time.time())
    if op == "token":
        sub, aud, nonce = pos[:3]
        iat = now - int(opts.get("iat-ago", "0"))
        claims = {"iss": opts.get("iss", "https://idp.test"), "sub": sub, "aud": aud,
                  "iat": iat, "exp": now + int(opts.get("exp-in", "300")),
                  "auth_time": now - int(opts.get("auth-ago", "0")), "nonce": nonce}
        hdr = {"alg": "ES256", "typ": "JWT", "kid": opts.get("kid", "k1")}
        si = b64u(json.dumps(hdr).encode()) + "." + b64u(json.dumps(claims).encode())
        r, s = decode_dss_signature(idp.sign(si.encode(), ec.ECDSA(hashes.SHA256())))
        print(si + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big")))
    elif op == "attest":
        key_id, intent = pos[:2]
        at_us = (now - int(opts.get("ago", "0"))) * 1000000
        msg = (field(1, b"axiom/attest/v1") + field(1, key_id.encode()) +
               field(2, unb64u(intent)) + field(4, struct.pack(">q", at_us)))
        print((struct.pack(">Q", at_us) + gw.sign(msg)).hex())


main()
