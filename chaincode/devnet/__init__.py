"""A local Hyperledger Fabric network run from native binaries: no Docker, loopback only."""
