"""MQTT ingest of RFID tag reads: topics, payloads, tables, batched writer, worker, broker ACLs."""
