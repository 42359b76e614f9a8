set -e
cd /work/main
time .venv/bin/rlaif eval --out runs/qwen-zs/heldout --task text2sql:dbs=all --eval.prompts=task:heldout --eval.stride=3 "--eval.policies={qwen: qwen2.5-coder-0.5b}" "--eval.judges=[]" --eval.batch_size=16 --eval.max_new_tokens=128
time .venv/bin/rlaif eval --out runs/qwen-zs/test --task text2sql:dbs=all --eval.prompts=task:test "--eval.policies={qwen: qwen2.5-coder-0.5b}" "--eval.judges=[]" --eval.batch_size=16 --eval.max_new_tokens=128
