"""Task heads: one module per head, mapping the mixer's output [B, D] to a task's outputs.

Heads return logits (never probabilities), except the sales head, which returns quantiles of
units scaled by the item's recent level. Each head also knows its task's batch keys
(docs/design/mtl-contracts.md) and turns its outputs and a batch into a masked loss with
``head.loss(outputs, batch) -> LossOutput(loss, count)``. A task (``toyguide.tasks``) names its
head class and builds its config; a new task may bring its own head in its own module.
"""
