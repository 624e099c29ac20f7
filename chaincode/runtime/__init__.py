"""Runs the pledge contract as a chaincode server (CCaaS) in the fabric-chaincode-python shim."""
