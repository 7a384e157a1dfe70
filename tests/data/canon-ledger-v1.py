#!/usr/bin/env python3
"""canon-ledger-v1.py - writes canon-ledger-v1.txt, the shared test vectors of canonical
encoding v1 of a ledger entry (docs/canonical-encoding.md section 4), from a third,
independent implementation of the format. Run it only to add vectors; the C unit test
(tests/unit/test_canon_ledger.c) and the SQL integration test
(tests/integration/0701-ledger-encoding-in-sql.c) both check the file's encodings and hashes.
"""
import hashlib, struct, uuid, os

def field(tag, b):
    return bytes([tag]) + struct.pack('>I', len(b)) + b

def text(s):  return b'\x00' if s is None else field(1, s.encode('utf-8'))
def byt(b):   return b'\x00' if b is None else field(2, b)
def i64(v):   return field(3, struct.pack('>q', v))
def ts(v):    return field(4, struct.pack('>q', v))
def uid(u):   return b'\x00' if u is None else field(5, uuid.UUID(u).bytes)
def hx(h):    return None if h is None else bytes.fromhex(h)

def encode(v):
    return (text('axiom/ledger/v1') + text(v['topic']) + i64(v['partition']) + i64(v['seq'])
            + i64(v['offset']) + uid(v['command_id']) + text(v['actor'])
            + ts(v['event_time_us']) + text(v['decision']) + text(v['reason_code'])
            + byt(hx(v['record_hash'])) + byt(hx(v['previous_entry_hash'])))

V = [
    dict(name='first entry, accepted, zero previous hash',
         topic='axiom.commands', partition=0, seq=1, offset=0,
         command_id='00000000-0000-4000-8000-00000000c001', actor='alice',
         event_time_us=1767225600000000, decision='accepted', reason_code=None,
         record_hash=hashlib.sha256(b'version 1').hexdigest(), previous_entry_hash='00' * 32),
    dict(name='second entry, rejected, chained, no record hash',
         topic='axiom.commands', partition=0, seq=2, offset=5,
         command_id='00000000-0000-4000-8000-00000000c002', actor='bob@example.org',
         event_time_us=1767225600123456, decision='rejected',
         reason_code='insufficient_access_level', record_hash=None, previous_entry_hash=None),
    dict(name='quarantined, no command id or actor, extremes',
         topic='axiom.control', partition=2147483647, seq=9223372036854775807,
         offset=9223372036854775806, command_id=None, actor=None, event_time_us=-1,
         decision='quarantined', reason_code='undecodable',
         record_hash=hashlib.sha256(b'\xff\x00garbage').hexdigest(),
         previous_entry_hash='11' * 32),
    dict(name='utf-8 actor, empty reason code and empty record hash',
         topic='it.0700.commands', partition=3, seq=7, offset=42,
         command_id='ffffffff-ffff-4fff-bfff-ffffffffffff', actor='zoë 😀',
         event_time_us=0, decision='accepted', reason_code='', record_hash='',
         previous_entry_hash='ab' * 32),
]
# chain vector 2 to vector 1
V[1]['previous_entry_hash'] = hashlib.sha256(encode(V[0])).hexdigest()

out = ['# canon-ledger-v1.txt - test vectors of canonical encoding v1 of a ledger entry.',
       '# Written by canon-ledger-v1.py; read by tests/unit/test_canon_ledger.c (C) and',
       '# tests/integration/0701-ledger-encoding-in-sql.c (SQL). One block per vector;',
       '# "key = value", the value is everything after "= " (text verbatim, UTF-8); bytes and',
       '# hashes are lowercase hex; NULL is the word NULL.', '']
keys = ['topic', 'partition', 'seq', 'offset', 'command_id', 'actor', 'event_time_us',
        'decision', 'reason_code', 'record_hash', 'previous_entry_hash']
for v in V:
    out.append('[%s]' % v['name'])
    for k in keys:
        out.append('%s = %s' % (k, 'NULL' if v[k] is None else v[k]))
    e = encode(v)
    out.append('encoding = %s' % e.hex())
    out.append('entry_hash = %s' % hashlib.sha256(e).hexdigest())
    out.append('')
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'canon-ledger-v1.txt'), 'w',
     encoding='utf-8').write('\n'.join(out))
