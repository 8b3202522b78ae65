"""``POST /v1/guide``: one turn of a guide dialogue; the dialogue is kept between turns."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter

from toyguide.errors import NotFoundError
from toyguide.guide.dialogue import Dialogue
from toyguide.guide.request import GuideRequest
from toyguide.service.deps import DialoguesDep, GuideDep
from toyguide.service.schemas import GuideTurn, RecommendationsModel, errors

router = APIRouter(tags=["shoppers"])


@router.post(
    "/v1/guide", response_model=RecommendationsModel, responses=errors(400, 404, 413, 422, 503)
)
def guide_turn(body: GuideTurn, guide: GuideDep, dialogues: DialoguesDep) -> dict[str, Any]:
    """Parse the turn on top of the dialogue's slots ("cheaper", "大一点的" refine them) and
    recommend. No ``dialogue_id`` starts a dialogue; the answer carries its id, and its
    ``request`` is the dialogue's slots as kept for the next turn (valid GuideRequest JSON,
    which ``/v1/recommendations`` accepts as it is)."""
    if body.dialogue_id is None:
        dialogue_id, dialogue = dialogues.new_id(), None
    else:
        saved = dialogues.get(body.dialogue_id)
        if saved is None:
            raise NotFoundError(f"unknown or expired dialogue '{body.dialogue_id}'")
        dialogue_id = body.dialogue_id
        dialogue = Dialogue.from_dict(saved, semantic=guide.semantic)
    if body.request is not None:  # chips the shopper edited replace what the dialogue kept
        dialogue = dialogue or Dialogue(semantic=guide.semantic)
        dialogue.request = GuideRequest.from_dict(body.request)
    result, dialogue = guide.ask(body.text, dialogue, body.shopper_id, body.k)
    kept = dialogues.put(dialogue_id, dialogue.to_dict())  # only a turn that succeeded is kept
    return replace(result, dialogue_id=dialogue_id, request=kept["request"]).to_dict()
