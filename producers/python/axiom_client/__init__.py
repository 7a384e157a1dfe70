"""axiom-client: the reference Python producer and audit reader of Axiom.

The contract it implements is docs/producers.md; the schemas are a copy of schemas/avro
(checked equal by tests/integration/0402-python-client.sh).
"""
from .audit import AuditReader, ChainError, is_tick, verify
from .contract import Contract, ContractError
from .partition import key_of, murmur2, partition_for
from .producer import AxiomProducer, Delivery, PublishError

__all__ = ["AuditReader", "AxiomProducer", "ChainError", "Contract", "ContractError",
           "Delivery", "PublishError", "is_tick", "key_of", "murmur2", "partition_for", "verify"]
