"""The base model's class targets: IMAC's word lists as regions of the valence / arousal plane."""

from __future__ import annotations

import numpy as np
import pytest

from moodtui.train.targets import derived_cues, fit_mapping, label_of


def window(
    valence: float, energy: float, happy: float, sad: float, lively: float, mellow: float, mode: float, onsets: float
) -> dict[str, float]:
    return {
        "valence": valence,
        "vn_energy": energy,
        "mn_happy": happy,
        "mn_sad": sad,
        "mn_party": lively,
        "mn_dance": lively,
        "mn_Mellow": mellow,
        "mn_easy listening": mellow,
        "sig_mode": mode,
        "sig_onset_rate": onsets,
    }


def corpus(n: int = 600, seed: int = 0) -> list[dict[str, float]]:
    """Windows whose teachers confound valence with energy, as VibeNet and musicnn do."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        true_valence, arousal = rng.uniform(-1, 1, 2)
        noise = rng.normal(0, 0.1, 8)
        sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
        out.append(
            window(
                valence=sigmoid(1.2 * true_valence + 1.2 * arousal + noise[0]),  # follows energy too
                energy=sigmoid(2 * arousal + noise[1]),
                happy=sigmoid(-4 + 1.5 * true_valence + arousal + noise[2]),
                sad=sigmoid(-4 - 1.5 * true_valence - arousal + noise[3]),
                lively=sigmoid(-3 + 2 * arousal + noise[4]),
                mellow=sigmoid(-3 - 2 * arousal + noise[5]),
                mode=0.3 * true_valence + noise[6],
                onsets=3 + 2 * arousal + noise[7],
            )
        )
    return out


def test_regions_follow_the_word_lists():
    assert label_of(0.1, 0.9, 0.3, 0.5) == "negative"  # painful, tense: aroused and unpleasant
    assert label_of(0.1, 0.1, 0.3, 0.5) == "negative"  # sad: calm and unpleasant
    assert label_of(0.6, 0.2, 0.3, 0.5) == "neutral"  # soothing, relaxed, calm
    assert label_of(0.6, 0.8, 0.3, 0.5) == "positive"  # happy, joyous, energetic


def test_fitted_mapping_balances_the_classes_and_removes_the_energy_confound():
    windows = corpus()
    mapping = fit_mapping(windows)
    labels = [mapping.label(w) for w in windows]
    shares = {c: labels.count(c) / len(labels) for c in ("positive", "neutral", "negative")}
    assert all(abs(share - 1 / 3) < 0.05 for share in shares.values())
    assert mapping.beta > 0.2  # the teachers' valence rises with arousal; that part is removed
    # A calm, pleasant window (major, mellow, slow) is neutral, not negative: the old base's fault.
    calm_pleasant = window(
        valence=0.35, energy=0.15, happy=0.03, sad=0.01, lively=0.01, mellow=0.2, mode=0.3, onsets=1.2
    )
    assert mapping.label(calm_pleasant) == "neutral"
    sad = window(valence=0.1, energy=0.15, happy=0.002, sad=0.05, lively=0.01, mellow=0.2, mode=-0.3, onsets=1.2)
    assert mapping.label(sad) == "negative"
    happy = window(valence=0.9, energy=0.9, happy=0.2, sad=0.001, lively=0.3, mellow=0.005, mode=0.3, onsets=5)
    assert mapping.label(happy) == "positive"


def test_a_missing_teacher_is_left_out_and_no_cue_means_no_class():
    mapping = fit_mapping(corpus())
    only_vibenet = {"valence": 0.9, "vn_energy": 0.9}
    assert mapping.label(only_vibenet) == "positive"
    assert mapping.label({"sig_mode": 0.2}) is None  # no arousal cue at all


def test_derived_cues_are_tag_logit_differences():
    cues = derived_cues({"mn_happy": 0.5, "mn_sad": 0.5, "mn_party": 0.2, "mn_Mellow": 0.2})
    assert cues["mn_happy_minus_sad"] == pytest.approx(0.0)
    assert cues["mn_lively_minus_mellow"] == pytest.approx(0.0)


def test_a_tag_group_score_is_the_mean_of_its_word_lists_tags_and_needs_them_all():
    from moodtui.train.targets import IMAC_TAG_GROUPS, tag_group_score

    scores = {"mn_happy": 0.6, "mn_party": 0.2, "mn_dance": 0.1, "mn_sad": 0.05}
    assert tag_group_score(scores, "positive") == pytest.approx(0.3)
    assert tag_group_score(scores, "negative") == pytest.approx(0.05)
    assert tag_group_score(scores, "neutral") is None  # no Mellow, chill ... tags: no score
    assert set(IMAC_TAG_GROUPS) == {"positive", "neutral", "negative"}
