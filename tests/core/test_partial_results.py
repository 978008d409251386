"""A slow method's partial results stop before 100 %: its last batch's report is not offered as a
partial map (the finished map follows at once as the result). The partial-maps test of test_session
failed when the clock let that report through."""

from __future__ import annotations

from tests.helpers.sessions import press


def test_the_last_batch_gives_no_partial_result(tiny_session):
    """One batch of windows, no coarse pass (the window is already coarse): its only report is 100 %."""
    session = tiny_session(method_options={"occlusion": {"window": 16, "stride": 16,
                                                         "perturbations_per_eval": 1000}})
    press(session, "k", "b")
    seen: list = []
    session.set_on_result(lambda: seen.append(session.latest_result()))
    while session.state.back_method != "occlusion":
        session.handle_key("N")
    session.process_pending()
    final = session.latest_result()
    assert final.progress is None and "back" not in final.stale
    fractions = [r.progress.fraction for r in seen if r.progress is not None]
    assert fractions and all(fraction < 1 for fraction in fractions), fractions    # "started", never "100 %"
