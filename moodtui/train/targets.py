"""Base-model class targets that mean what IMAC's classes mean, from the teachers' scores.

IMAC's classes come from Last.fm tags: positive = happy, joyous, energetic; neutral = soothing,
relaxed, calm; negative = sad, painful. In the valence / arousal plane of Russell's circumplex
these are three regions, not three bands of one score:

- negative: low valence, whatever the arousal (sad is calm and unpleasant, painful / tense is
  aroused and unpleasant);
- neutral: not negative and low arousal (soothing, relaxed, calm);
- positive: not negative and high arousal (happy, joyous, energetic).

Each axis is a composite of independent teachers, each turned into a percentile over the
training windows so that no teacher's scale dominates:

- valence: VibeNet's valence, musicnn's happy-minus-sad tags (the same Last.fm tag source as
  IMAC), the major / minor mode of the window's chroma (weight 1/2: the estimate confuses
  relative keys), the cue music psychology finds strongest for happy vs sad, and tonal clarity
  (how well the chroma fits any key: dissonant, atonal, noisy music is felt as unpleasant and
  tense, Blood et al. 1999; neither learned teacher hears it: both called two tense, distorted
  pieces happy);
- arousal: VibeNet's energy, musicnn's lively-minus-mellow tags (party, dance vs Mellow, easy
  listening), and the onset rate (note density).

Both learned teachers' valence follows energy (rank correlation ~0.5 on the corpus: calm music
reads as sad). Cutting that valence would file every calm piece as negative, the fault the
previous base had. So valence is first made independent of arousal (the least-squares part
explained by arousal is removed) and then cut: negative below its first tercile; the rest split at
the median arousal into neutral and positive. The classes are then about a third each of the
training windows, and the cut points and percentile tables travel in the model's training
summary, so any track can be mapped the same way.

A teacher missing for a window (a track not yet labelled by it) is left out of that window's
mean; a window with no valence or no arousal cue gets no class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from moodtui import CLASSES

# cue name -> weight; cue names are keys of a window's score dict (see scripts/train_base.py).
VALENCE_CUES: dict[str, float] = {"valence": 1.0, "mn_happy_minus_sad": 1.0, "sig_mode": 0.5, "sig_key_clarity": 1.0}
AROUSAL_CUES: dict[str, float] = {"vn_energy": 1.0, "mn_lively_minus_mellow": 1.0, "sig_onset_rate": 1.0}
NEGATIVE_SHARE = 1 / 3
IMAC_TAG_GROUPS: dict[str, tuple[str, ...]] = {
    "positive": ("happy", "party", "dance"),
    "neutral": ("Mellow", "chill", "chillout", "easy listening"),
    "negative": ("sad",),
}
"""IMAC's word lists (positive = happy, joyous, energetic; neutral = soothing, relaxed, calm;
negative = sad, painful) in the tags musicnn has (its 50 Last.fm tags: the tag source of IMAC)."""


def tag_group_score(scores: Mapping[str, float], mood: str) -> float | None:
    """The mean musicnn probability of the tags of one IMAC word list (None: no musicnn scores)."""
    keys = [f"mn_{tag}" for tag in IMAC_TAG_GROUPS[mood]]
    if not all(key in scores for key in keys):
        return None
    return float(np.mean([scores[key] for key in keys]))


def derived_cues(scores: Mapping[str, float]) -> dict[str, float]:
    """The composite cues built from raw teacher outputs (musicnn tag differences)."""
    out = dict(scores)
    if "mn_happy" in scores and "mn_sad" in scores:
        out["mn_happy_minus_sad"] = _logit(scores["mn_happy"]) - _logit(scores["mn_sad"])
    lively = [scores[k] for k in ("mn_party", "mn_dance") if k in scores]
    mellow = [scores[k] for k in ("mn_Mellow", "mn_easy listening") if k in scores]
    if lively and mellow:
        out["mn_lively_minus_mellow"] = float(
            np.mean([_logit(v) for v in lively]) - np.mean([_logit(v) for v in mellow])
        )
    if "energy" in scores and "vn_energy" not in scores:
        out["vn_energy"] = scores["energy"]
    return out


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


@dataclass
class TargetMapping:
    """Percentile tables of each cue, the arousal slope removed from valence, and the two cuts."""

    tables: dict[str, list[float]] = field(default_factory=dict)  # cue -> sorted training values
    beta: float = 0.0
    negative_cut: float = 0.0  # on arousal-independent valence
    calm_cut: float = 0.5  # on arousal

    def percentile(self, cue: str, value: float) -> float:
        table = np.asarray(self.tables[cue])
        return float(np.searchsorted(table, value, side="right")) / max(1, len(table))

    def axis(self, scores: Mapping[str, float], cues: Mapping[str, float]) -> float | None:
        scores = derived_cues(scores)
        parts = [
            (self.percentile(c, scores[c]), w)
            for c, w in cues.items()
            if c in self.tables and c in scores and np.isfinite(scores[c])
        ]
        if not parts:
            return None
        return float(sum(p * w for p, w in parts) / sum(w for _, w in parts))

    def valence_arousal(self, scores: Mapping[str, float]) -> tuple[float, float] | None:
        """(arousal-independent valence, arousal) of one window, or None without cues."""
        valence = self.axis(scores, VALENCE_CUES)
        arousal = self.axis(scores, AROUSAL_CUES)
        if valence is None or arousal is None:
            return None
        return valence - self.beta * (arousal - 0.5), arousal

    def label(self, scores: Mapping[str, float]) -> str | None:
        va = self.valence_arousal(scores)
        return None if va is None else label_of(*va, self.negative_cut, self.calm_cut)

    def to_json(self) -> dict[str, Any]:
        return {
            "valence_cues": VALENCE_CUES,
            "arousal_cues": AROUSAL_CUES,
            "beta": self.beta,
            "negative_cut": self.negative_cut,
            "calm_cut": self.calm_cut,
            "percentile_points": {
                c: [float(np.quantile(t, q)) for q in np.linspace(0, 1, 11)] for c, t in self.tables.items()
            },
        }


def label_of(valence: float, arousal: float, negative_cut: float, calm_cut: float) -> str:
    """The circumplex regions: negative (low valence), else neutral (calm) or positive."""
    if valence < negative_cut:
        return "negative"
    return "neutral" if arousal < calm_cut else "positive"


def fit_mapping(windows: list[Mapping[str, float]]) -> TargetMapping:
    """Fit percentile tables, the valence-on-arousal slope and the cuts on training windows."""
    derived = [derived_cues(w) for w in windows]
    mapping = TargetMapping()
    for cue in {**VALENCE_CUES, **AROUSAL_CUES}:
        values = sorted(float(d[cue]) for d in derived if cue in d and np.isfinite(d[cue]))
        if values:
            mapping.tables[cue] = values
    pairs = [(mapping.axis(d, VALENCE_CUES), mapping.axis(d, AROUSAL_CUES)) for d in derived]
    pairs = [(v, a) for v, a in pairs if v is not None and a is not None]
    if len(pairs) < 3:
        raise ValueError("too few windows with both a valence and an arousal cue")
    v = np.array([p[0] for p in pairs])
    a = np.array([p[1] for p in pairs])
    centred = a - 0.5
    mapping.beta = float((centred * (v - v.mean())).sum() / max((centred**2).sum(), 1e-12))
    residual = v - mapping.beta * centred
    mapping.negative_cut = float(np.quantile(residual, NEGATIVE_SHARE))
    mapping.calm_cut = float(np.median(a[residual >= mapping.negative_cut]))
    return mapping


def class_counts(labels: list[str | None]) -> dict[str, int]:
    return {c: sum(1 for label in labels if label == c) for c in CLASSES}
