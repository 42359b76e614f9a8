"""Evaluation: metrics (pure numpy), judges (one protocol), results (aggregation), the report.

| module     | what                                                                          |
|------------|-------------------------------------------------------------------------------|
| metrics    | win rate, bootstrap CI, head to head, length control, labeler metrics         |
| judges     | `judge(prompts, a, b, **columns) -> [p_a]`: oracle, function; `judge_pairs`      |
| results    | per-policy summaries, comparisons, matrices, labeler vs reference               |
| collect    | label / rm / rl outputs of earlier stages, read defensively                    |
| plots      | the report's figures as inline SVG                                             |
| report     | results.json -> report.html (self-contained) + summary.md                      |
| evaluate   | policies, their outputs, the judges, the results dict                          |
| calibration| (algos/calibration.py) alignment, ECE and reliability bins                     |

`evaluate` generates, judges and measures (the `eval` stage, rlaif/stages/eval.py, runs it).
"""
