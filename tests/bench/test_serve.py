"""bench/serve.py's generated guide requests (``--guide-requests``)."""

from __future__ import annotations


def test_generated_guide_requests_are_distinct_seeded_and_mixed(bench_module) -> None:
    serve = bench_module("serve")
    texts = serve.guide_texts(300)
    assert len(set(texts)) == 300 and texts == serve.guide_texts(300)
    assert serve.guide_texts(300, seed=1) != texts
    chinese = sum("岁" in t for t in texts)
    assert 30 < chinese < 120  # about one in four
    assert not set(texts) & set(serve.GUIDE_TEXTS)  # none of the six fixed ones
