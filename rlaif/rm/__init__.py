"""Reward models: the model (a causal LM with a scalar head; scoring; save/load), its training on
preference pairs, and SALMON's principle-following RM."""
