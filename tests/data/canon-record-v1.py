#!/usr/bin/env python3
"""canon-record-v1.py - writes canon-record-v1.txt, the shared test vectors of canonical
encoding v1 (docs/canonical-encoding.md), from a third, independent implementation of the
format. Run it only to add vectors; the C unit test and the SQL integration test both check
the file's encodings and hashes.
"""
import hashlib, struct, uuid, sys, os

def field(tag, b):
    return bytes([tag]) + struct.pack('>I', len(b)) + b

def text(s):  return b'\x00' if s is None else field(1, s.encode('utf-8'))
def byt(b):   return b'\x00' if b is None else field(2, b)
def i64(v):   return field(3, struct.pack('>q', v))
def ts(v):    return field(4, struct.pack('>q', v))
def uid(u):   return b'\x00' if u is None else field(5, uuid.UUID(u).bytes)

def encode(v):
    return (text('axiom/record/v1') + uid(v['record_id']) + uid(v['id']) + i64(v['version'])
            + uid(v['previous_record_id'])
            + byt(None if v['previous_record_hash'] is None else bytes.fromhex(v['previous_record_hash']))
            + text(v['record_type']) + text(v['facility_id']) + text(v['domain_id'])
            + text(v['title']) + byt(bytes.fromhex(v['content'])) + text(v['created_by'])
            + ts(v['created_at_us']) + uid(v['change_id']))

V = [
    dict(name='first version, ascii, empty content',
         record_id='00000000-0000-4000-8000-000000000001', id='11111111-1111-4111-8111-111111111111',
         version=1, previous_record_id=None, previous_record_hash=None, record_type='spec',
         facility_id='F1', domain_id='QC', title='pH of buffer A', content='',
         created_by='alice', created_at_us=1767225600000000, change_id=None),
    dict(name='second version, utf-8 title, binary content, change id',
         record_id='00000000-0000-4000-8000-000000000002', id='11111111-1111-4111-8111-111111111111',
         version=2, previous_record_id='00000000-0000-4000-8000-000000000001',
         previous_record_hash=None, record_type='spec', facility_id='F1', domain_id='QC',
         title='Spécification — pH 7,0 ± 0,1 ✓ 😀', content='00ff7f800a0d',
         created_by='bob@example.org', created_at_us=1767225600123456,
         change_id='cccccccc-cccc-4ccc-8ccc-cccccccccccc'),
    dict(name='before the epoch, empty title, large version',
         record_id='ffffffff-ffff-4fff-bfff-ffffffffffff', id='22222222-2222-4222-8222-222222222222',
         version=9223372036854775807, previous_record_id='00000000-0000-4000-8000-000000000003',
         previous_record_hash='00' * 32, record_type='test_method', facility_id='plant-2.b',
         domain_id='micro', title='', content='41', created_by='carol', created_at_us=-1,
         change_id=None),
]
# chain vector 2 to vector 1
V[1]['previous_record_hash'] = hashlib.sha256(encode(V[0])).hexdigest()

out = ['# canon-record-v1.txt - test vectors of canonical encoding v1 of a record version.',
       '# Written by canon-record-v1.py; read by tests/unit/test_canon.c (C) and',
       '# tests/integration/0103-canonical-encoding-in-sql.c (SQL). One block per vector;',
       '# "key = value", the value is everything after "= " (text verbatim, UTF-8); bytes and',
       '# hashes are lowercase hex; NULL is the word NULL.', '']
keys = ['record_id', 'id', 'version', 'previous_record_id', 'previous_record_hash', 'record_type',
        'facility_id', 'domain_id', 'title', 'content', 'created_by', 'created_at_us', 'change_id']
for v in V:
    out.append('[%s]' % v['name'])
    for k in keys:
        out.append('%s = %s' % (k, 'NULL' if v[k] is None else v[k]))
    e = encode(v)
    out.append('encoding = %s' % e.hex())
    out.append('record_hash = %s' % hashlib.sha256(e).hexdigest())
    out.append('')
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'canon-record-v1.txt'), 'w',
     encoding='utf-8').write('\n'.join(out))
