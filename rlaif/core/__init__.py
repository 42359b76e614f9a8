"""The layer everything else stands on: config (YAML -> typed dataclasses), runs (folders,
manifests, input fingerprints), records (the JSONL record kinds), models (loading, prompts,
log-probs), training (the accelerator, optimizer and the one training loop), errors (UserError).
Nothing here imports a stage, a task or a labeler at import time."""
