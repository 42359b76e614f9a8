"""Talking to model servers: the endpoint pool (OpenAI-compatible servers, least-loaded routing
and failover) and the reward-model HTTP server (`rlaif rm serve`)."""
