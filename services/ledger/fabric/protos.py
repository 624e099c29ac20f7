"""The generated Fabric protobuf modules, typed for mypy.

hyperledger-fabric-protos ships no type stubs, so mypy sees none of the generated classes; the
modules are re-exported here as `Any`, with aliases naming the messages our signatures use.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from fabric_protos.common import common_pb2 as _common
from fabric_protos.common import ledger_pb2 as _ledger
from fabric_protos.gateway import gateway_pb2 as _gateway
from fabric_protos.gateway import gateway_pb2_grpc as _gateway_grpc
from fabric_protos.msp import identities_pb2 as _identities
from fabric_protos.orderer import ab_pb2 as _ab
from fabric_protos.peer import chaincode_event_pb2 as _chaincode_event
from fabric_protos.peer import chaincode_pb2 as _chaincode
from fabric_protos.peer import events_pb2_grpc as _events_grpc
from fabric_protos.peer import proposal_pb2 as _proposal
from fabric_protos.peer import proposal_response_pb2 as _proposal_response
from fabric_protos.peer import transaction_pb2 as _transaction

common: Any = _common
ledger: Any = _ledger
gateway: Any = _gateway
gateway_grpc: Any = _gateway_grpc
identities: Any = _identities
ab: Any = _ab
chaincode_event: Any = _chaincode_event
chaincode: Any = _chaincode
events_grpc: Any = _events_grpc
proposal: Any = _proposal
proposal_response: Any = _proposal_response
transaction: Any = _transaction

# Message types as they appear in our signatures (all Any to mypy, named for the reader).
Envelope: TypeAlias = Any
Block: TypeAlias = Any
Header: TypeAlias = Any
ChannelHeader: TypeAlias = Any
SignatureHeader: TypeAlias = Any
SignedProposal: TypeAlias = Any
ChaincodeAction: TypeAlias = Any
ChaincodeEvent: TypeAlias = Any
ErrorDetail: TypeAlias = Any
Response: TypeAlias = Any
