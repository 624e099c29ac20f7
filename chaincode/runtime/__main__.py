"""`python -m chaincode.runtime`: serve the pledge contract as a chaincode server (CCaaS).

Reads CHAINCODE_ID (the package id the peer installed), CHAINCODE_SERVER_ADDRESS (host:port to
listen on) and PLEDGEWATCH_ORG_ROLES (MSP=role pairs). The peer dials this server in plain gRPC:
on the loopback interface of one machine that is acceptable; across machines, put TLS in front.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from chaincode.runtime.roles import DEFAULT_ORG_ROLES, ROLES_ENV, RoleMapError, parse_org_roles


def main() -> int:
    """Start the chaincode server from the environment; exit code 2 on bad configuration."""
    from chaincode.runtime.fabric_contract import build_chaincode
    from chaincode.runtime.handler import quiet_shim_logging, serve_forever

    # The shim configures the root logger at DEBUG on import; put our own level back.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", force=True
    )
    quiet_shim_logging()
    chaincode_id = os.environ.get("CHAINCODE_ID", "").strip()
    address = os.environ.get("CHAINCODE_SERVER_ADDRESS", "").strip()
    if not chaincode_id or not address:
        print("CHAINCODE_ID and CHAINCODE_SERVER_ADDRESS must be set", file=sys.stderr)
        return 2
    try:
        roles = parse_org_roles(os.environ.get(ROLES_ENV, DEFAULT_ORG_ROLES))
    except RoleMapError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    asyncio.run(serve_forever(chaincode_id, address, build_chaincode(roles)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
