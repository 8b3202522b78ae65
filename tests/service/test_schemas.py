"""The response models are made from the view dataclasses of ``guide/views.py``: one per view,
exported as ``<View>Model``, documenting exactly the view's fields, and passing real views."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from toyguide.guide import views
from toyguide.service import Settings, create_app, schemas

VIEWS = [getattr(views, name) for name in views.__all__]


def names(view: type) -> list[str]:
    return [f.name for f in dataclasses.fields(view)]


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_every_view_has_an_exported_model(view) -> None:
    model = schemas.view_model(view)
    assert model.__name__ == f"{view.__name__}Model" and model.__name__ in schemas.__all__
    assert getattr(schemas, model.__name__) is model  # made once: the routes' model is this one


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_the_response_schema_lists_exactly_the_views_fields(view) -> None:
    schema = schemas.view_model(view).model_json_schema(mode="serialization")
    assert list(schema["properties"]) == names(view)
    assert schema["required"] == names(view)  # to_dict() always gives every field


def test_the_openapi_schema_names_each_views_model() -> None:
    components = create_app(Settings("unused", "unused")).openapi()["components"]["schemas"]
    for view in VIEWS:
        assert list(components[f"{view.__name__}Model"]["properties"]) == names(view)
    pick = components["PickModel"]["properties"]
    assert pick["item"] == {"$ref": "#/components/schemas/ItemViewModel"}
    assert pick["score"]["type"] == "number" and pick["reasons"]["items"] == {"type": "string"}
    request = components["RecommendationsModel"]["properties"]["request"]["anyOf"][0]
    assert request == schemas.GUIDE_REQUEST_SCHEMA  # documented more closely than the view


def test_views_from_the_guide_validate_against_their_models(guide, served) -> None:
    profile = guide.profile(served.shopper)
    evaluation = guide.evaluate_toy("wooden train set", "a track and three wagons", None, 25.0)
    pricing = evaluation.pricing
    made = [
        guide.item(served.item),
        *guide.search("train", 2),
        guide.recommend(served.shopper, k=3),
        guide.ask("a puzzle for a five year old under 30 dollars", k=3)[0],
        guide.forecast(served.item),
        guide.plan_inventory(served.item, 2, 0.95),
        evaluation,
        pricing,  # the pricing block and its parts only come inside an evaluation
        pricing.similar[0],
        pricing.curve[0],
        profile,
        profile.age_band[0],  # label probabilities only come inside other views
        # so do predicted ages: on the items whose shop states none
        next(v.predicted_age for v in guide.catalogue.views[1:] if v.predicted_age),
        *guide.segments(3),
    ]
    assert {type(v) for v in made} == set(VIEWS)
    for view in made:
        data = view.to_dict()
        assert schemas.view_model(type(view)).model_validate(data).model_dump() == data


def test_a_view_of_the_wrong_shape_fails_its_model() -> None:
    item = views.ItemView("t1", "Train", None, 9.5, "EUR", 36, 72, None, ["vehicles"], [], None)
    pick = views.Pick(item, 0.5, ["age fit"]).to_dict()
    schemas.PickModel.model_validate(pick)
    with pytest.raises(ValidationError, match=r"item\.price"):
        schemas.PickModel.model_validate({**pick, "item": {**pick["item"], "price": "cheap"}})
    with pytest.raises(ValidationError, match="reasons"):
        schemas.PickModel.model_validate({k: v for k, v in pick.items() if k != "reasons"})
