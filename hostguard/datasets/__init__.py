"""Dataset scans: sources streamed shard by shard, scan records, checkpoints and attestations."""
