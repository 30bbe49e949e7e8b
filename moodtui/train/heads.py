"""The listener's last layer, of the complexity their own labelled songs support.

Every candidate is a dense softmax layer over the base's embedding (so it exports as the base's
``probs`` layer and the player re-scores cached embeddings with it), fitted in numpy/scipy: each
fit is a convex problem (the logits are linear in the parameters) solved by L-BFGS in a few
milliseconds, so every candidate can be cross-validated by song inside a retrain.

Candidates, simplest first (a tie goes to the simpler one):

* ``base``: the base model's layer as it is (nothing fitted).
* ``recut``: the base's own mood score (its positive-minus-negative direction), rescaled (the
  sign too: an opposite-taste listener flips it) with two cut points of the listener's: 3
  parameters.
* ``ordered``: a 1-d score on the embedding with two cut points (adjacent-category logits:
  negative < neutral < positive), the score's direction pulled towards the base's: 67 parameters.
* ``valence``: the base's valence score (the teacher's valence, regressed on the embedding and
  the descriptors when the base was made) with two cut points of the listener's: 3 parameters,
  for a listener whose moods follow valence alone (the mood classes mix in arousal).
* ``energy``: the base's energy score (its calm <-> energetic output, a dense layer on the
  embedding) with two cut points of the listener's: 3 parameters, for a listener whose moods
  follow energy rather than the base's moods.
* ``song-cues``: the re-cut score plus a weighted sum of the three cues music psychology finds
  strongest for happy and sad, heard over the whole song: its mode and tempo, and brightness
  (``song_mode``, ``song_tempo``, ``brightness``): 3 + 3. Few enough weights for 3 labels a class.
* ``cues``: the re-cut score plus a weighted sum of the slice's musical descriptors
  (``moodtui.mood.descriptors``: mode, key clarity, brightness, pulse, loudness), for a listener
  whose feelings follow mode, tempo or brightness, which the embedding barely carries: 3 + 8.
* ``ordered-cues``: the ordered head on the embedding and the descriptors: 75.
* ``free``: a free softmax layer, pulled towards a rescaled copy of the base's: 195 parameters.
* ``free-rich``: the same, pulled ten times more weakly (for listeners with many labels).

The inputs are the standardised embedding, then (when the songs have them) the standardised
descriptors; the heads without "cues" in their name leave the descriptors out (weight zero).

Every candidate is scored by cross-validation by song on the listener's labelled songs (each
song predicted by a fit that never saw it): the total log-probability of their labels, as the
player will show it (calibrated), decides; a tie, or a many-parameter head that does not win
clearly, goes to the simpler candidate (``simplest_not_worse``). This module imports no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from moodtui import CLASSES
from moodtui.mood.descriptors import DESCRIPTOR_NAMES
from moodtui.mood.model import calibrate

POSITIVE, NEUTRAL, NEGATIVE = (CLASSES.index(c) for c in ("positive", "neutral", "negative"))

HEADS = (
    "base",
    "recut",
    "valence",
    "energy",
    "tags",
    "song-cues",
    "ordered",
    "cues",
    "ordered-cues",
    "free",
    "free-rich",
)
"""Candidate heads, simplest first."""

DESCRIPTOR_HEADS = frozenset({"song-cues", "cues", "ordered-cues"})
"""The candidates that read the descriptors (the others' descriptor weights are zero)."""

SCORE_HEADS = ("valence", "energy")
"""The candidates that re-cut one of the base's own 1-d scores (``HeadData.score_axes``)."""
TAG_SCORES = tuple(f"tags_{mood}" for mood in CLASSES)
"""The base's scores the ``tags`` head reads, one per class (CLASSES order): how strongly musicnn
hears the Last.fm tags of that class's IMAC word list (``train.targets.IMAC_TAG_GROUPS``)."""
BASE_SCORES = SCORE_HEADS + TAG_SCORES
"""Every base score a candidate may read (``HeadData.score_axes``)."""
HEAD_SCORES = {**{name: (name,) for name in SCORE_HEADS}, "tags": TAG_SCORES}
"""The base scores each candidate reads: with a base that lacks one, the candidate is not tried."""

SONG_CUES = ("brightness", "song_mode", "song_tempo")
"""The descriptors the ``song-cues`` head weighs."""

HEAD_DESCRIPTIONS = {
    "base": "the base model as it is",
    "recut": "the base's mood score with your cut points",
    "valence": "the base's valence score with your cut points",
    "energy": "the base's energy score with your cut points",
    "tags": "the base's hearing of the Last.fm tags of IMAC's word lists, weighed for you",
    "song-cues": "the base's mood score and the song's mode, tempo and brightness, with your cut points",
    "cues": "the base's mood score and musical cues (mode, tempo, brightness ...) with your cut points",
    "ordered": "one score with two cut points",
    "ordered-cues": "one score on the embedding and musical cues, with two cut points",
    "free": "a free softmax layer",
    "free-rich": "a weakly regularised softmax layer",
}

PRIOR_STRENGTH = {"song-cues": 0.1, "cues": 0.1, "ordered": 1.0, "ordered-cues": 1.0, "free": 1.0, "free-rich": 0.1}
"""L2 pull of each fitted head towards its prior (per labelled song, on standardised embeddings)."""

ORDER_STEPS = np.zeros(len(CLASSES))
ORDER_STEPS[[POSITIVE, NEUTRAL, NEGATIVE]] = (2.0, 1.0, 0.0)
"""Adjacent-category logits: class logit = step * score - its cut offset."""


@dataclass
class HeadData:
    """Training slices (standardised embeddings, then descriptors), labels, weights and the song
    each slice belongs to (-1 for replay or prior slices, which are never held out)."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    song_of: np.ndarray
    songs: int
    embedding_dim: int = -1  # columns of x that are the embedding (-1: all of them, no descriptors)
    # The base's own 1-d scores (BASE_SCORES) as directions on the standardised inputs, those it has.
    score_axes: dict[str, np.ndarray] = field(default_factory=dict)

    def columns(self, name: str) -> np.ndarray:
        """The columns of ``x`` a candidate's fitted weights may use."""
        dim = self.x.shape[1]
        embedding = dim if self.embedding_dim < 0 else self.embedding_dim
        if name == "cues":
            return np.arange(embedding, dim)
        if name == "song-cues":
            return np.array([embedding + DESCRIPTOR_NAMES.index(cue) for cue in SONG_CUES])
        if name == "ordered-cues":
            return np.arange(dim)
        return np.arange(embedding)


@dataclass
class HeadFit:
    """A fitted head as a dense layer on raw (unstandardised) embeddings."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray


@dataclass
class HeadChoice:
    """The chosen head, fitted on every song, and what cross-validation said about each candidate."""

    fit: HeadFit
    hits: dict[str, int]  # held-out songs each candidate agreed with
    songs: int
    held_out: dict[str, np.ndarray] = field(default_factory=dict)  # per candidate: predicted class per song
    # Per candidate: each song's held-out log-probability of its label (calibrated), what decides.
    log_probs: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.fit.name

    @property
    def agreement(self) -> float:
        return self.hits[self.name] / self.songs if self.songs else 0.0


class Standardiser:
    """Per-dimension centring and scaling of embeddings (from a reference sample, e.g. the replay set),
    so that one L2 strength means the same on every base model."""

    def __init__(self, reference: np.ndarray) -> None:
        self.mean = reference.mean(axis=0).astype(np.float64)
        self.scale = reference.std(axis=0).astype(np.float64)
        self.scale[self.scale < 1e-6] = 1.0

    @classmethod
    def joined(cls, first: Standardiser, second: Standardiser) -> Standardiser:
        """One standardiser for inputs made of ``first``'s columns, then ``second``'s."""
        out = cls(np.zeros((1, 1)))
        out.mean = np.concatenate([first.mean, second.mean])
        out.scale = np.concatenate([first.scale, second.scale])
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.scale

    def to_standard(self, kernel: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The layer on standardised inputs equal to ``kernel``/``bias`` on raw ones."""
        return kernel * self.scale[:, None], bias + self.mean @ kernel

    def to_raw(self, kernel: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raw = kernel / self.scale[:, None]
        return raw, bias - self.mean @ raw


def softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


def song_probabilities(song_embeddings: list[np.ndarray], kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(songs, classes): each song's mean slice probabilities under a last layer."""
    return np.array([softmax(e @ kernel + bias).mean(axis=0) for e in song_embeddings]).reshape(-1, len(CLASSES))


def song_predictions(song_embeddings: list[np.ndarray], kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Each song's predicted class under a last layer: the argmax of its mean slice probabilities."""
    return song_probabilities(song_embeddings, kernel, bias).argmax(axis=1).astype(int)


def mood_direction(kernel: np.ndarray) -> np.ndarray:
    """The base's mood score direction: the adjacent-category step of its layer (mean of the
    negative->neutral and neutral->positive differences)."""
    return ((kernel[:, POSITIVE] - kernel[:, NEUTRAL]) + (kernel[:, NEUTRAL] - kernel[:, NEGATIVE])) / 2


def ordered_layer(direction: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The dense layer of an ordered head: score = x . direction, cut points c1 (negative|neutral)
    and c2 (neutral|positive)."""
    kernel = np.outer(direction, ORDER_STEPS)
    bias = np.zeros(len(CLASSES))
    bias[NEUTRAL] = -cuts[0]
    bias[POSITIVE] = -cuts[0] - cuts[1]
    return kernel, bias


def _cross_entropy(logits: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted mean cross-entropy and its gradient with respect to the logits."""
    logits = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(logits).sum(axis=1))
    log_p = logits[np.arange(len(y)), y] - log_norm
    total = w.sum()
    loss = float(-(w * log_p).sum() / total)
    grad = np.exp(logits - log_norm[:, None])
    grad[np.arange(len(y)), y] -= 1.0
    return loss, grad * (w / total)[:, None]


def fit_head(
    name: str, data: HeadData, base_kernel: np.ndarray, base_bias: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fit one candidate on the slices where ``mask`` is true; returns its layer on standardised inputs.

    ``base_kernel``/``base_bias`` are the base layer on standardised inputs (zero rows for the
    descriptors). Only the columns ``data.columns(name)`` get fitted weights.
    """
    if name == "base":
        return base_kernel, base_bias
    x, y, w = (data.x, data.y, data.w) if mask is None else (data.x[mask], data.y[mask], data.w[mask])
    cols = data.columns(name)
    fitted = x[:, cols]
    dim = len(cols)
    direction = mood_direction(base_kernel)
    per_song = 1.0 / max(1, data.songs)
    strength = PRIOR_STRENGTH.get(name, 0.0) * per_song
    if name in SCORE_HEADS:
        if name not in data.score_axes:
            raise ValueError(f"the {name} head needs the base's {name} score")
        direction = data.score_axes[name]
    if name in ("recut", *SCORE_HEADS, "song-cues", "cues", "ordered", "ordered-cues"):
        projected = x @ direction
        steps = ORDER_STEPS
        free_delta = name not in ("recut", *SCORE_HEADS)

        def unpack(p):
            return p[0], p[1:3], p[3:] if free_delta else np.zeros(dim)

        def ordered_objective(p):
            alpha, cuts, delta = unpack(p)
            score = alpha * projected + (fitted @ delta if free_delta else 0.0)
            kernel_bias = ordered_layer(np.zeros(1), cuts)[1]
            logits = score[:, None] * steps[None, :] + kernel_bias[None, :]
            loss, g = _cross_entropy(logits, y, w)
            g_score = g @ steps
            grad = np.zeros_like(p)
            grad[0] = g_score @ projected
            grad[1] = -(g[:, NEUTRAL] + g[:, POSITIVE]).sum()
            grad[2] = -g[:, POSITIVE].sum()
            if free_delta:
                loss += strength * float(delta @ delta)
                grad[3:] = fitted.T @ g_score + 2 * strength * delta
            return loss, grad

        start = np.zeros(3 + (dim if free_delta else 0))
        start[0] = 1.0
        result = minimize(ordered_objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 200, "ftol": 1e-7})
        alpha, cuts, delta = unpack(result.x)
        full_delta = np.zeros(x.shape[1])
        full_delta[cols] = delta
        return ordered_layer(alpha * direction + full_delta, cuts)

    classes = len(CLASSES)
    if name == "tags":
        # Each class's logit is its own tag score, scaled and shifted for the listener (6 parameters):
        # IMAC's rule (the strongest word list wins) with the listener's weights.
        if any(score not in data.score_axes for score in HEAD_SCORES[name]):
            raise ValueError("the tags head needs the base's tag scores")
        axes = np.stack([data.score_axes[score] for score in TAG_SCORES], axis=1)
        spread = (x @ axes).std(axis=0)
        axes = axes / np.where(spread > 1e-9, spread, 1.0)
        heard = x @ axes

        def tags_objective(p):
            loss, g = _cross_entropy(heard * p[:classes] + p[classes:], y, w)
            return loss, np.concatenate([(g * heard).sum(axis=0), g.sum(axis=0)])

        start = np.concatenate([np.ones(classes), np.zeros(classes)])
        result = minimize(tags_objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 200})
        return axes * result.x[None, :classes], result.x[classes:]

    # The whole base layer is rescaled (its descriptor rows too, when the base reads them); only
    # the candidate's own columns get free weights on top.
    base_logits = x @ base_kernel

    def objective(p):
        scale, bias, delta = p[0], p[1 : 1 + classes], p[1 + classes :].reshape(dim, classes)
        loss, g = _cross_entropy(scale * base_logits + fitted @ delta + bias, y, w)
        grad = np.concatenate(
            [[float((g * base_logits).sum())], g.sum(axis=0), (fitted.T @ g + 2 * strength * delta).ravel()]
        )
        return loss + strength * float((delta * delta).sum()), grad

    start = np.concatenate([[1.0], base_bias, np.zeros(dim * classes)])
    result = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 200, "ftol": 1e-7})
    p = result.x
    kernel = p[0] * base_kernel
    kernel[cols] += p[1 + classes :].reshape(dim, classes)
    return kernel, p[1 : 1 + classes]


def choose_head(
    song_embeddings: list[np.ndarray],
    labels: list[int],
    folds: list[list[int]],
    base_kernel: np.ndarray,
    base_bias: np.ndarray,
    data: HeadData,
    standardiser: Standardiser,
    candidates: tuple[str, ...] = HEADS,
    progress=None,
    temperature: float = 1.0,
) -> HeadChoice:
    """Cross-validate every candidate by song, pick the best (ties: the simpler), fit it on all songs.

    ``song_embeddings``/``labels``: the listener's own labelled songs (raw embeddings), the only
    songs scored; ``data``: the training slices (standardised; replay and prior slices carry
    ``song_of`` -1 and are always in training); ``folds``: indices of songs held out together;
    ``progress(done, total)`` is called after each candidate; ``temperature``: the calibration
    the new model's song probabilities will be shown with (``mood.model.calibrate``).

    The held-out songs are scored by the probabilities the listener will see, calibrated: the mean
    slice probabilities are softer than that (T < 1 sharpens them), and on those a head that is
    vaguely wrong about many songs looked as good as one that gets most of them right.
    """
    # One BLAS thread: these matrices are small, and OpenBLAS's threads spinning against each other
    # on a busy 2-core machine made every fit 50 times slower.
    with threadpool_limits(limits=1, user_api="blas"):
        return _choose_head(
            song_embeddings,
            labels,
            folds,
            base_kernel,
            base_bias,
            data,
            standardiser,
            candidates,
            progress,
            temperature,
        )


def _choose_head(
    song_embeddings, labels, folds, base_kernel, base_bias, data, standardiser, candidates, progress, temperature
) -> HeadChoice:
    if not 0 <= data.embedding_dim < data.x.shape[1]:  # no descriptors: the heads that read them are not tried
        candidates = tuple(name for name in candidates if name not in DESCRIPTOR_HEADS)
    # A base without an energy output, a valence score or the tag scores: those heads are not tried.
    candidates = tuple(
        name for name in candidates if all(score in data.score_axes for score in HEAD_SCORES.get(name, ()))
    )
    std_kernel, std_bias = standardiser.to_standard(base_kernel.astype(np.float64), base_bias.astype(np.float64))
    std_songs = [standardiser(e.astype(np.float64)) for e in song_embeddings]
    labels_arr = np.asarray(labels)
    hits: dict[str, int] = {}
    held_out: dict[str, np.ndarray] = {}
    log_probs: dict[str, np.ndarray] = {}
    for name in candidates:
        predicted = np.full(len(labels), -1)
        log_prob = np.zeros(len(labels))
        for fold in folds:
            mask = ~np.isin(data.song_of, fold)
            kernel, bias = fit_head(name, data, std_kernel, std_bias, mask)
            probs = calibrate(song_probabilities([std_songs[i] for i in fold], kernel, bias), temperature)
            predicted[fold] = probs.argmax(axis=1)
            given = probs[np.arange(len(fold)), labels_arr[fold]]
            log_prob[fold] = np.log(np.maximum(given, HELD_OUT_PROBABILITY_FLOOR))
        held_out[name] = predicted
        log_probs[name] = log_prob
        hits[name] = int((predicted == labels_arr).sum())
        if progress is not None:
            progress(len(hits), len(candidates))
    name = simplest_not_worse(candidates, log_probs)
    kernel, bias = standardiser.to_raw(*fit_head(name, data, std_kernel, std_bias))
    return HeadChoice(
        HeadFit(name, kernel.astype(np.float32), bias.astype(np.float32)), hits, len(labels), held_out, log_probs
    )


SELECTION_MARGIN = {
    "base": 0.0,
    "recut": 0.0,
    "valence": 0.0,
    "energy": 0.0,
    "tags": 0.0,
    "song-cues": 0.0,
    "cues": 1.0,
    "ordered": 1.0,
    "ordered-cues": 1.0,
    "free": 1.0,
    "free-rich": 1.0,
}
"""How many standard errors of the paired difference (in held-out log-probability, per song) a head
must win by to replace a simpler one:
nothing for the re-cut heads and the song-cue head (3 and 6 parameters), one for the heads with 14 or more
(with 9 labelled songs, one song more is no evidence that 14 weights beat 6)."""


HELD_OUT_PROBABILITY_FLOOR = 1e-3
"""A held-out song's probability of its label counts as at least this: one confident miss costs
log(1000), about as much as five songs given 25 % each, not everything."""


def simplest_not_worse(
    candidates: tuple[str, ...],
    log_probs: dict[str, np.ndarray],
    margins: dict[str, float] | None = None,
) -> str:
    """The head to keep: the one giving the listener's held-out songs the highest total
    log-probability of their labels (a tie: the simpler), unless a simpler one is not clearly
    worse than it.

    Why log-probability, not the count of songs agreed with: with 9 or 30 labelled songs many
    heads tie on the count, and the tie went to whichever was simpler, however unsure it was of
    the songs it got right. How sure a head is of each held-out song separates them (measured
    with ``scripts/bench_personalise.py --fast --repeats 8``: the energy listener at k = 3 went
    from 56 to 67 %, the signals listener at k = 10 from 55 to 58 %).

    "Clearly", for a head with many parameters: on the same songs (a paired comparison), its
    gain over the simpler head is more than its margin in standard errors of the per-song
    differences. With 9 labelled songs one lucky song does not make a 64-parameter head beat
    the base; with 60 a real gain does.
    """
    margins = SELECTION_MARGIN if margins is None else margins
    best = max(candidates, key=lambda name: (float(log_probs[name].sum()), -candidates.index(name)))
    # The kept head must itself clearly beat every simpler one (by its own margin): a simpler head
    # not clearly worse than the best is kept only after the same test against the heads simpler
    # than it, so a many-parameter best never lets a middle head past a margin it did not pass.
    while True:
        margin = margins.get(best, 0.0)
        for name in candidates[: candidates.index(best)]:
            gain = log_probs[best] - log_probs[name]
            if gain.sum() <= margin * gain.std() * np.sqrt(len(gain)):
                best = name
                break
        else:
            return best


def training_data(
    song_embeddings: list[np.ndarray],
    labels: list[int],
    standardiser: Standardiser,
    replay_x: np.ndarray | None = None,
    replay_y: np.ndarray | None = None,
    replay_share: float = 0.0,
    prior_embeddings: list[np.ndarray] | None = None,
    prior_labels: list[int] | None = None,
    prior_weight: float = 0.0,
    embedding_dim: int = -1,
) -> HeadData:
    """The training slices with their weights.

    Each labelled song weighs the same whatever its length and each class of the listener's songs
    weighs the same. Weak-prior songs (IMAC labels of songs the listener owns) weigh
    ``prior_weight`` of a labelled song each. The replay sample (class-balanced) carries
    ``replay_share`` of the total.
    """
    class_songs = np.bincount(labels, minlength=len(CLASSES)).astype(float)
    present = int((class_songs > 0).sum())
    xs, ys, ws, owners = [], [], [], []
    song_weight = 1.0 / max(1, len(labels))
    for i, (emb, label) in enumerate(zip(song_embeddings, labels)):
        xs.append(emb)
        ys.append(np.full(len(emb), label))
        # Class balance: each present class carries the same share of the listener's weight.
        balanced = len(labels) / (present * class_songs[label])
        ws.append(np.full(len(emb), song_weight * balanced / len(emb)))
        owners.append(np.full(len(emb), i))
    for emb, label in zip(prior_embeddings or [], prior_labels or []):
        xs.append(emb)
        ys.append(np.full(len(emb), label))
        ws.append(np.full(len(emb), song_weight * prior_weight / len(emb)))
        owners.append(np.full(len(emb), -1))
    own_total = float(sum(w.sum() for w in ws))
    if replay_x is not None and replay_y is not None and len(replay_x) and replay_share > 0:
        counts = np.bincount(replay_y, minlength=len(CLASSES))
        replay_w = 1.0 / (len(CLASSES) * np.maximum(counts[replay_y], 1))
        xs.append(replay_x)
        ys.append(replay_y)
        ws.append(replay_w * own_total * replay_share / (1 - replay_share))
        owners.append(np.full(len(replay_x), -1))
    w = np.concatenate(ws)
    return HeadData(
        standardiser(np.concatenate(xs).astype(np.float64)),
        np.concatenate(ys).astype(int),
        w / w.mean(),
        np.concatenate(owners),
        len(labels),
        embedding_dim,
    )
