#!/usr/bin/env python3
"""Generate moodtui's demo library: twelve short pieces of music synthesised from scratch.

Every sound is computed here with numpy (and scipy.signal for filters and reverb): additive
plucks and pads, FM bells and keys, synthetic drums, chord progressions with generated melodies.
No samples or recordings are used, so the output has no licence questions; it is dedicated to the
public domain (CC0 1.0), see the generated ``library/README.md``.

The pieces come in four mood groups (one album each): bright major up-tempo pieces, slow dark minor
pieces, calm ambient pieces and tense aggressive pieces. They are encoded in the formats the core
decodes natively (mostly Ogg Vorbis, plus MP3, FLAC, WAV and Opus) and tagged with mutagen.

The output is deterministic: a fixed seed drives every random choice, and the Ogg stream serial
numbers (which libsndfile draws at random) are rewritten to fixed values, so re-running the script
reproduces the files byte for byte (given the same libsndfile / encoder versions).

Usage: python scripts/make_demo_library.py [--out library]
"""

from __future__ import annotations

import argparse
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import mutagen
import mutagen.wave
import numpy as np
import soundfile as sf
from mutagen.id3 import TALB, TCON, TIT2, TPE1, TRCK
from mutagen.ogg import OggPage
from scipy import signal

SEED = 1_808_2024
ARTIST = "moodtui demo"
GENRE = "Demo"
REPO_DIR = Path(__file__).resolve().parent.parent

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)
LYDIAN = (0, 2, 4, 6, 7, 9, 11)
PHRYGIAN = (0, 1, 3, 5, 7, 8, 10)


@dataclass(frozen=True)
class Encoding:
    """How a track is written: container, codec, rate, channels and encoder setting."""

    extension: str
    format: str
    subtype: str
    samplerate: int
    channels: int
    compression_level: float | None = None  # soundfile: 0 = best quality, 1 = smallest
    bitrate_mode: str | None = None


VORBIS = Encoding(".ogg", "OGG", "VORBIS", 44100, 2, 0.88)
MP3 = Encoding(".mp3", "MP3", "MPEG_LAYER_III", 44100, 2, 0.8, "CONSTANT")
OPUS = Encoding(".opus", "OGG", "OPUS", 48000, 2, 0.9)
FLAC = Encoding(".flac", "FLAC", "PCM_16", 22050, 1, 1.0)
WAV = Encoding(".wav", "WAV", "PCM_16", 22050, 1)


@dataclass(frozen=True)
class Track:
    """One piece: its tags, its intended mood and the musical parameters that make it."""

    number: int
    title: str
    album: str
    mood: str  # the class the piece is meant to evoke: positive, neutral or negative
    character: str  # a few words on how it sounds
    style: Callable[[Score, Track], None]
    root: int  # MIDI note of the tonic (the bass octave)
    scale: tuple[int, ...]
    bpm: float
    progression: tuple[int, ...]  # scale degrees (0 = tonic), one chord per bar, cycled
    bars: int
    lead: str  # the melody instrument
    encoding: Encoding

    @property
    def filename(self) -> str:
        slug = self.title.lower().replace(" ", "-")
        return f"{self.number:02d}-{slug}{self.encoding.extension}"


# --- instruments: each returns a mono note (float64 array) -----------------------------------


def midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def _times(seconds: float, sr: int) -> np.ndarray:
    return np.arange(int(seconds * sr)) / sr


def _edges(y: np.ndarray, sr: int, attack: float, release: float) -> np.ndarray:
    """Linear fade in and out so that no note starts or stops with a click."""
    a, r = max(1, int(attack * sr)), max(1, int(release * sr))
    y[:a] *= np.linspace(0.0, 1.0, a)[: y.size]
    y[-r:] *= np.linspace(1.0, 0.0, r)[-y.size :]
    return y


def pluck(freq: float, seconds: float, sr: int, brightness: float = 1.0) -> np.ndarray:
    """A plucked string: harmonics that decay faster the higher they are."""
    t = _times(seconds + 0.25, sr)
    y = np.zeros_like(t)
    for k in range(1, 16):
        if freq * k > sr * 0.42:
            break
        amplitude = abs(np.sin(np.pi * k * 0.27)) / k ** (1.6 - 0.4 * brightness)
        y += amplitude * np.exp(-t * (2.2 + 1.1 * k**1.25 / brightness)) * np.sin(2 * np.pi * freq * k * t)
    return _edges(y, sr, 0.002, 0.05)


def bell(freq: float, seconds: float, sr: int, ratio: float = 3.5, index: float = 1.6) -> np.ndarray:
    """An FM bell: an inharmonic modulator whose depth dies away faster than the tone."""
    t = _times(seconds + 1.2, sr)
    modulation = index * np.exp(-t * 2.5) * np.sin(2 * np.pi * freq * ratio * t)
    y = np.sin(2 * np.pi * freq * t + modulation) * np.exp(-t * 1.6)
    return _edges(y, sr, 0.003, 0.2)


def keys(freq: float, seconds: float, sr: int) -> np.ndarray:
    """A soft electric piano: FM at ratio 1 with a short bright attack, held for the note."""
    t = _times(seconds + 0.6, sr)
    modulation = 1.1 * np.exp(-t * 6.0) * np.sin(2 * np.pi * freq * t)
    body = np.sin(2 * np.pi * freq * t + modulation) + 0.25 * np.sin(4 * np.pi * freq * t) * np.exp(-t * 3)
    envelope = np.exp(-t * 0.9) * np.where(t < seconds, 1.0, np.exp(-(t - seconds) * 8))
    return _edges(body * envelope, sr, 0.004, 0.05)


def pad(
    freqs: Sequence[float],
    seconds: float,
    sr: int,
    harmonics: int,
    rng: np.random.Generator,
    attack: float = 1.2,
    release: float = 1.5,
) -> np.ndarray:
    """A chord of slowly swelling, detuned saw-like voices with few harmonics (a warm or dark pad)."""
    t = _times(seconds + release, sr)
    y = np.zeros_like(t)
    for freq in freqs:
        for cents in (-8.0, 0.0, 7.0):
            f = freq * 2 ** (cents / 1200)
            for k in range(1, harmonics + 1):
                if f * k > sr * 0.42:
                    break
                y += np.sin(2 * np.pi * f * k * t + rng.uniform(0, 2 * np.pi)) / k
    envelope = np.minimum(1.0, t / attack) * np.where(t < seconds, 1.0, np.exp(-(t - seconds) * 4 / release))
    tremolo = 1.0 + 0.12 * np.sin(2 * np.pi * 0.23 * t + rng.uniform(0, 2 * np.pi))
    return _edges(y * envelope * tremolo / (3 * len(freqs)), sr, 0.01, 0.05)


def bass(freq: float, seconds: float, sr: int, decay: float = 1.5) -> np.ndarray:
    """A round bass: fundamental with a little second and third harmonic."""
    t = _times(seconds, sr)
    y = np.sin(2 * np.pi * freq * t) + 0.35 * np.sin(4 * np.pi * freq * t) + 0.12 * np.sin(6 * np.pi * freq * t)
    return _edges(y * np.exp(-t * decay), sr, 0.005, 0.03)


def square_lead(freq: float, seconds: float, sr: int) -> np.ndarray:
    """A chiptune-like square wave (odd harmonics) with a touch of delayed vibrato."""
    t = _times(seconds, sr)
    vibrato = 1.0 + 0.004 * np.sin(2 * np.pi * 5.5 * t) * np.minimum(1.0, t / 0.3)
    phase = 2 * np.pi * freq * np.cumsum(vibrato) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, 16, 2) if freq * k < sr * 0.42)
    return _edges(y * (0.6 + 0.4 * np.exp(-t * 5)), sr, 0.003, 0.03)


def saw_drive(freq: float, seconds: float, sr: int, drive: float = 3.0) -> np.ndarray:
    """A distorted saw: additive saw through a tanh overdrive (for the tense pieces)."""
    t = _times(seconds, sr)
    y = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 24) if freq * k < sr * 0.3)
    y = np.tanh(drive * y) * np.exp(-t * 1.2)
    return _edges(y, sr, 0.002, 0.02)


# Melody level per instrument: long-ringing bells carry far more energy per note than plucks.
LEAD_LEVEL = {"pluck": 1.0, "bell": 0.65, "keys": 1.0, "square": 0.75, "saw": 1.0}

LEADS: dict[str, Callable[[float, float, int], np.ndarray]] = {
    "pluck": pluck,
    "bell": bell,
    "keys": keys,
    "square": square_lead,
    "saw": saw_drive,
}


# --- drums -----------------------------------------------------------------------------------


def _filtered_noise(rng: np.random.Generator, seconds: float, sr: int, band: tuple[float, float]) -> np.ndarray:
    low, high = band
    sos = signal.butter(2, [low, min(high, sr * 0.45)], btype="bandpass", fs=sr, output="sos")
    return signal.sosfilt(sos, rng.standard_normal(int(seconds * sr)))


def kick(sr: int, rng: np.random.Generator, punch: float = 1.0) -> np.ndarray:
    t = _times(0.45, sr)
    freq = 46 + 120 * np.exp(-t * 28)
    y = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t * 7)
    y += 0.3 * _filtered_noise(rng, 0.45, sr, (1000, 6000)) * np.exp(-t * 120)
    return np.tanh(punch * 1.5 * y)


def snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _times(0.3, sr)
    noise = _filtered_noise(rng, 0.3, sr, (1200, 8000)) * np.exp(-t * 16)
    return 0.9 * noise / np.abs(noise).max() + 0.5 * np.sin(2 * np.pi * 185 * t) * np.exp(-t * 30)


def hat(sr: int, rng: np.random.Generator, open_: bool = False) -> np.ndarray:
    t = _times(0.35 if open_ else 0.08, sr)
    noise = _filtered_noise(rng, t.size / sr, sr, (7000, 16000))
    return 0.6 * noise / np.abs(noise).max() * np.exp(-t * (10 if open_ else 55))


def clap(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _times(0.25, sr)
    bursts = sum(np.exp(-np.maximum(t - d, 0) * 90) * (t >= d) for d in (0.0, 0.011, 0.022))
    noise = _filtered_noise(rng, 0.25, sr, (900, 5000))
    return noise / np.abs(noise).max() * (0.7 * bursts + 0.3 * np.exp(-t * 14))


# --- arranging -------------------------------------------------------------------------------


class Score:
    """A stereo mix bus with a reverb send, addressed in beats."""

    def __init__(self, track: Track, sr: int, tail: float = 3.0) -> None:
        self.track = track
        self.sr = sr
        self.beat = 60.0 / track.bpm
        self.seconds = track.bars * 4 * self.beat + tail
        self.dry = np.zeros((2, int(self.seconds * sr)))
        self.send = np.zeros_like(self.dry)
        self.rng = np.random.default_rng(SEED + track.number)
        self._notes: dict[tuple[object, ...], np.ndarray] = {}

    def add(self, sound: np.ndarray, beat: float, gain: float, pan: float = 0.0, reverb: float = 0.2) -> None:
        """Mix a mono sound in at ``beat`` (constant-power pan, -1 left .. 1 right)."""
        start = int(beat * self.beat * self.sr)
        end = min(start + sound.size, self.dry.shape[1])
        if end <= start:
            return
        angle = (pan + 1) * np.pi / 4
        for channel, weight in enumerate((np.cos(angle), np.sin(angle))):
            part = gain * weight * sound[: end - start]
            self.dry[channel, start:end] += part
            self.send[channel, start:end] += reverb * part

    def cached(self, key: tuple[object, ...], make: Callable[[], np.ndarray]) -> np.ndarray:
        """A rendered sound, made once: pieces repeat the same notes many times."""
        if key not in self._notes:
            self._notes[key] = make()
        return self._notes[key]

    def note(self, instrument: str, midi: float, beats: float, **options: float) -> np.ndarray:
        """One note of a named instrument, ``beats`` long (cached)."""
        return self.cached(
            (instrument, midi, beats, tuple(sorted(options.items()))),
            lambda: LEADS[instrument](midi_hz(midi), beats * self.beat, self.sr, **options),
        )

    def chord(self, bar: int, size: int = 3, octave: int = 1) -> list[int]:
        """The MIDI notes of the chord for ``bar`` (stacked thirds of the piece's scale)."""
        degree = self.track.progression[bar % len(self.track.progression)]
        return [self.pitch(degree + 2 * i) + 12 * octave for i in range(size)]

    def pitch(self, step: int) -> int:
        """The MIDI note ``step`` scale steps above the tonic (negative steps go below)."""
        scale = self.track.scale
        octave, index = divmod(step, len(scale))
        return self.track.root + 12 * octave + scale[index]

    def drums(self, bars: range, pattern: dict[str, str], gains: dict[str, float]) -> None:
        """Play a one-bar, 16-step pattern ("x" hit, "o" accent-free ghost) over ``bars``."""
        sounds = {
            "kick": kick(self.sr, self.rng, gains.get("punch", 1.0)),
            "snare": snare(self.sr, self.rng),
            "hat": hat(self.sr, self.rng),
            "open": hat(self.sr, self.rng, open_=True),
            "clap": clap(self.sr, self.rng),
        }
        pans = {"kick": 0.0, "snare": 0.05, "hat": 0.35, "open": 0.35, "clap": -0.1}
        for bar in bars:
            for name, steps in pattern.items():
                for step, mark in enumerate(steps):
                    if mark in "xo":
                        level = gains[name] * (0.45 if mark == "o" else 1.0)
                        self.add(sounds[name], bar * 4 + step / 4, level, pans[name], reverb=0.12)

    def render(self, reverb_seconds: float, loudness_db: float) -> np.ndarray:
        """Dry + reverb, high-passed, levelled to ``loudness_db`` RMS, soft-limited, faded out."""
        sr = self.sr
        t = _times(reverb_seconds, sr)
        predelay = np.zeros(int(0.018 * sr))
        damping = signal.butter(1, 4500, fs=sr, output="sos")
        wet = np.empty_like(self.send)
        for channel in range(2):
            impulse = signal.sosfilt(damping, self.rng.standard_normal(t.size)) * np.exp(-t * 6.9 / reverb_seconds)
            impulse = np.concatenate([predelay, impulse / np.sqrt(np.sum(impulse**2))])
            wet[channel] = signal.oaconvolve(self.send[channel], impulse)[: self.send.shape[1]]
        mix = signal.sosfilt(signal.butter(2, 35, btype="highpass", fs=sr, output="sos"), self.dry + wet)
        mix *= 10 ** (loudness_db / 20) / np.sqrt(np.mean(mix**2))
        mix = np.tanh(mix / 0.9) * 0.9  # a gentle limiter: peaks round off instead of clipping
        fade = min(3.0, self.seconds / 6)
        n = int(fade * sr)
        mix[:, -n:] *= np.linspace(1.0, 0.0, n) ** 2
        return mix


def melody(
    score: Score,
    bars: range,
    octave: int,
    density: str,
    gain: float,
    pan: float = 0.0,
    reverb: float = 0.25,
    seed: int = 0,
) -> None:
    """A melody built from two two-bar motifs in A A B A order, re-anchored to each bar's chord.

    Each motif is a fixed rhythm plus a contour of scale steps; strong beats land on chord tones, so
    the tune follows the harmony while its shape repeats (which is what makes it sound composed).
    """
    rng = np.random.default_rng(SEED * 7 + score.track.number * 31 + seed)
    rhythms = {
        "sparse": [[(0, 2), (2, 2)], [(0, 3), (3, 1)], [(0, 1.5), (1.5, 2.5)], [(0, 4)]],
        "medium": [
            [(0, 1), (1, 1), (2, 1.5), (3.5, 0.5)],
            [(0, 1.5), (1.5, 0.5), (2, 2)],
            [(0, 0.5), (0.5, 0.5), (1, 1), (2, 1), (3, 1)],
            [(0, 2), (2, 1), (3, 1)],
        ],
        "dense": [
            [(i * 0.5, 0.5) for i in range(8)],
            [(0, 0.75), (0.75, 0.75), (1.5, 0.5), (2, 1), (3, 0.5), (3.5, 0.5)],
            [(0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 1.5), (3, 1)],
        ],
    }[density]
    scale_len = len(score.track.scale)

    def motif() -> list[tuple[float, float, int]]:
        notes, step = [], 0
        for bar in range(2):
            for onset, length in rhythms[rng.integers(len(rhythms))]:
                notes.append((bar * 4 + onset, length, step))
                step += int(rng.choice([-2, -1, -1, 1, 1, 2, 0, 3, -3]))
                step = int(np.clip(step, -4, 5))
        return notes

    motifs = {"A": motif(), "B": motif()}
    progression = score.track.progression
    events = []  # (beat, MIDI note, length in beats)
    for phrase_index, first_bar in enumerate(range(bars.start, bars.stop, 2)):
        # Anchor: the motif starts on a chord tone of the phrase's first bar.
        base = progression[first_bar % len(progression)] + scale_len * octave
        for onset, length, step in motifs["AABA"[phrase_index % 4]]:
            bar = first_bar + int(onset // 4)
            if bar >= bars.stop:
                break
            target = base + step
            if onset % 2 == 0:  # strong beat: snap to the nearest tone of this bar's chord
                degree = progression[bar % len(progression)]
                tones = [degree + 2 * i + scale_len * o for o in range(-1, 4) for i in range(3)]
                target = min(tones, key=lambda s: abs(s - target))
            events.append((first_bar * 4 + onset, score.pitch(target), length * 0.92))
    if events:  # let the final note of the line ring on
        beat, midi, length = events[-1]
        events[-1] = (beat, midi, length * 2)
    level = gain * LEAD_LEVEL[score.track.lead]
    for beat, midi, length in events:
        score.add(score.note(score.track.lead, midi, length), beat, level, pan, reverb)


def bass_line(
    score: Score, bars: range, pattern: Sequence[tuple[float, float, int]], gain: float, decay: float = 1.5
) -> None:
    """Repeat a one-bar bass pattern of (onset, beats, octave offset) on each bar's chord root."""
    for bar in bars:
        root = score.chord(bar, 1, octave=0)[0]
        for onset, beats, octave in pattern:
            midi = root + 12 * octave
            sound = score.cached(
                ("bass", midi, beats, decay),
                lambda midi=midi, beats=beats: bass(midi_hz(midi), beats * score.beat, score.sr, decay),
            )
            score.add(sound, bar * 4 + onset, gain, 0.0, reverb=0.05)


def chords(
    score: Score,
    bars: range,
    instrument: str,
    onsets: Sequence[float],
    beats: float,
    gain: float,
    octave: int = 1,
    size: int = 3,
    spread: float = 0.5,
    reverb: float = 0.3,
) -> None:
    """Strike each bar's chord at ``onsets`` with a plucked/struck instrument, notes spread in pan."""
    for bar in bars:
        notes = score.chord(bar, size, octave)
        for onset in onsets:
            for i, midi in enumerate(notes):
                pan = spread * (2 * i / max(1, len(notes) - 1) - 1)
                score.add(score.note(instrument, midi, beats), bar * 4 + onset, gain / len(notes), pan, reverb)


def pads(
    score: Score,
    bars: range,
    harmonics: int,
    gain: float,
    octave: int = 1,
    size: int = 4,
    bars_per_chord: int = 1,
    attack: float = 1.2,
    reverb: float = 0.5,
) -> None:
    """Hold each bar's chord (or every ``bars_per_chord`` bars) as a swelling pad."""
    for bar in range(bars.start, bars.stop, bars_per_chord):
        freqs = [midi_hz(m) for m in score.chord(bar, size, octave)]
        seconds = bars_per_chord * 4 * score.beat
        sound = pad(freqs, seconds, score.sr, harmonics, score.rng, attack=attack)
        score.add(sound, bar * 4, gain * 0.7, -0.3, reverb)
        score.add(sound, bar * 4 + 0.02, gain * 0.7, 0.3, reverb)


# --- the four styles -------------------------------------------------------------------------

FOUR_ON_FLOOR = {
    "kick": "x...x...x...x...",
    "clap": "....x.......x...",
    "hat": "..x...x...x...x.",
    "open": "..............x.",
}
BACKBEAT = {"kick": "x.....x.x.......", "snare": "....x.......x..o", "hat": "x.x.x.x.x.x.x.x."}


def bright(score: Score, track: Track) -> None:
    """Major, up-tempo: plucked or struck chords, bouncing bass, drums, a lively melody."""
    n = track.bars
    intro, outro = range(0, 4), range(n - 4, n)
    body = range(4, n - 4)
    half = 4 + (len(body) // 2) // 2 * 2
    drum_pattern = FOUR_ON_FLOOR if track.number % 2 else BACKBEAT
    gains = {"kick": 0.7, "snare": 0.4, "clap": 0.35, "hat": 0.2, "open": 0.14}
    chord_instrument = "bell" if track.lead != "bell" else "pluck"
    chords(score, range(0, n), chord_instrument, (0, 1.5, 3), 1.0, 0.45, octave=1)
    score.drums(range(2, 4), {"hat": drum_pattern["hat"]}, gains)
    score.drums(body, drum_pattern, gains)
    score.drums(outro, {"kick": drum_pattern["kick"]}, gains)
    bass_line(score, range(2, n), [(0, 0.5, 0), (1, 0.5, 1), (1.5, 0.5, 0), (2.5, 0.5, 0), (3, 0.5, 1)], 0.5, 3.0)
    melody(score, range(4, half), 2, "medium", 0.6, 0.1)
    melody(score, range(half, n - 4), 2, "dense", 0.52, -0.1, seed=1)
    melody(score, intro, 3, "sparse", 0.2, 0.4, reverb=0.5, seed=2)
    pads(score, range(half, n), 5, 0.18, octave=1)


def sad(score: Score, track: Track) -> None:
    """Minor and slow: a low dark pad, a long bass, a sparse melody on keys, soft distant beats."""
    n = track.bars
    pads(score, range(0, n), 4, 0.45, octave=0, size=3, attack=2.0, reverb=0.6)
    bass_line(score, range(0, n), [(0, 4, -1)], 0.35, 0.4)
    melody(score, range(2, n - 2), 2, "sparse", 0.42, 0.15, reverb=0.55)
    melody(score, range(n // 2, n - 2), 1, "sparse", 0.16, -0.35, reverb=0.6, seed=3)
    chords(score, range(n // 2, n), "keys", (0, 2), 2.0, 0.28, octave=1, reverb=0.5)
    gains = {"kick": 0.35, "snare": 0.12, "hat": 0.06}
    score.drums(range(4, n - 2), {"kick": "x.........x.....", "snare": "........o......."}, gains)


def calm(score: Score, track: Track) -> None:
    """Ambient: long open pads, a slow bell or pluck figure, no drums, a lot of space."""
    n = track.bars
    pads(score, range(0, n), 6, 0.5, octave=1, size=4, bars_per_chord=2, attack=3.0, reverb=0.7)
    bass_line(score, range(0, n, 2), [(0, 8, 0)], 0.22, 0.15)
    if track.lead == "pluck":  # a gentle arpeggio through the chord
        for bar in range(2, n - 1):
            notes = score.chord(bar, 4, 2)
            for i, beat in enumerate((0, 1, 2, 3)):
                score.add(
                    score.note("pluck", notes[i % 4], 1.5, brightness=0.6), bar * 4 + beat, 0.24, 0.5 - 0.33 * i, 0.5
                )
    melody(score, range(4, n - 2), 2, "sparse", 0.26, 0.3, reverb=0.7)


def tense(score: Score, track: Track) -> None:
    """Aggressive: a driven saw riff in sixteenths, hard drums, dissonant stabs, noise sweeps."""
    n = track.bars
    gains = {"kick": 0.75, "snare": 0.6, "hat": 0.2, "open": 0.2, "clap": 0.35, "punch": 2.5}
    riff = [(i / 4, 0.22, 0 if i % 3 else 1) for i in range(16) if i not in (6, 14)]
    for bar in range(0, n):
        root = score.chord(bar, 1, octave=0)[0]
        for onset, beats, up in riff:
            midi = root + 12 * up
            sound = score.cached(
                ("riff", midi, beats),
                lambda midi=midi, beats=beats: saw_drive(midi_hz(midi), beats * score.beat, score.sr, 4.0),
            )
            score.add(sound, bar * 4 + onset, 0.5 if bar >= 2 else 0.3, 0.0, reverb=0.04)
    pattern = {"kick": "x..x..x...x.x...", "snare": "....x.......x..x", "hat": "xxxxxxxxxxxxxxxx"}
    score.drums(range(2, n - 1), pattern, gains)
    # Stabs of a tritone over the root: the unresolved interval carries most of the menace.
    for bar in range(4, n - 1, 2):
        root = score.chord(bar, 1, octave=2)[0]
        for midi in (root, root + 6, root + 13):
            score.add(score.note("saw", midi, 0.7, drive=5.0), bar * 4 + 3.5, 0.12, 0.4, 0.3)
    melody(score, range(4, n - 1), 2, "dense", 0.22, -0.3, reverb=0.2)
    for bar in range(3, n, 8):  # a rising noise sweep into each new section
        seconds = 4 * score.beat
        t = _times(seconds, score.sr)
        sweep = _filtered_noise(score.rng, seconds, score.sr, (800, 9000)) * (t / seconds) ** 2
        score.add(sweep / np.abs(sweep).max(), bar * 4, 0.22, 0.0, 0.3)


TRACKS = (
    Track(
        1,
        "Sunny Pluck",
        "Bright Side",
        "positive",
        "C major, 124 BPM, plucked lead over bell chords, four-on-the-floor",
        bright,
        48,
        MAJOR,
        124,
        (0, 4, 5, 3),
        24,
        "pluck",
        VORBIS,
    ),
    Track(
        2,
        "Bell Parade",
        "Bright Side",
        "positive",
        "G major, 112 BPM, FM bell melody, plucked chords, backbeat drums",
        bright,
        43,
        MAJOR,
        112,
        (0, 3, 1, 4),
        20,
        "bell",
        VORBIS,
    ),
    Track(
        3,
        "Kite Day",
        "Bright Side",
        "positive",
        "D major, 136 BPM, chiptune square lead, four-on-the-floor",
        bright,
        50,
        MAJOR,
        136,
        (0, 5, 3, 4),
        20,
        "square",
        MP3,
    ),
    Track(
        4,
        "Morning Run",
        "Bright Side",
        "positive",
        "A major, 128 BPM, plucked lead, backbeat drums (Opus, 48 kHz)",
        bright,
        45,
        MAJOR,
        128,
        (3, 4, 2, 5),
        20,
        "pluck",
        OPUS,
    ),
    Track(
        5,
        "Rain on Slate",
        "Grey Hours",
        "negative",
        "A minor, 66 BPM, soft keys over a dark low pad",
        sad,
        45,
        MINOR,
        66,
        (0, 5, 2, 6),
        16,
        "keys",
        VORBIS,
    ),
    Track(
        6,
        "Lantern Out",
        "Grey Hours",
        "negative",
        "D harmonic minor, 60 BPM, bells over a dark pad",
        sad,
        38,
        HARMONIC_MINOR,
        60,
        (0, 3, 0, 4),
        8,
        "bell",
        FLAC,
    ),
    Track(
        7,
        "Cold Harbour",
        "Grey Hours",
        "negative",
        "E minor, 72 BPM, soft keys, slow descending harmony",
        sad,
        40,
        MINOR,
        72,
        (0, 6, 5, 4),
        16,
        "keys",
        VORBIS,
    ),
    Track(
        8,
        "Tide Pools",
        "Still Water",
        "neutral",
        "F lydian, 60 BPM, wide pads and slow bells, no drums",
        calm,
        41,
        LYDIAN,
        60,
        (0, 0, 1, 1, 6, 6, 1, 1),
        14,
        "bell",
        VORBIS,
    ),
    Track(
        9,
        "Slow Clouds",
        "Still Water",
        "neutral",
        "C major, 70 BPM, pads only with a few bells (short WAV)",
        calm,
        36,
        MAJOR,
        70,
        (0, 0, 3, 3),
        8,
        "bell",
        WAV,
    ),
    Track(
        10,
        "Paper Lanterns",
        "Still Water",
        "neutral",
        "E-flat major, 84 BPM, gentle plucked arpeggios over pads",
        calm,
        39,
        MAJOR,
        84,
        (0, 0, 5, 5, 3, 3, 4, 4),
        16,
        "pluck",
        VORBIS,
    ),
    Track(
        11,
        "Red Line",
        "Pressure",
        "negative",
        "E phrygian, 150 BPM, overdriven saw riff, hard drums",
        tense,
        28,
        PHRYGIAN,
        150,
        (0, 1, 0, 6),
        24,
        "saw",
        VORBIS,
    ),
    Track(
        12,
        "Static Storm",
        "Pressure",
        "negative",
        "C-sharp harmonic minor, 168 BPM, tritone stabs, noise sweeps",
        tense,
        37,
        HARMONIC_MINOR,
        168,
        (0, 1, 0, 4, 0, 1, 5, 4),
        24,
        "square",
        VORBIS,
    ),
)

# How loud and how reverberant each style is mixed (RMS dB, reverb decay seconds).
MIX = {bright: (-15.0, 1.4), sad: (-19.0, 3.0), calm: (-21.0, 4.0), tense: (-13.0, 1.0)}


# --- encoding and tagging --------------------------------------------------------------------


def render(track: Track) -> np.ndarray:
    """The finished piece as float32 frames x channels at the track's encoding rate."""
    score = Score(track, track.encoding.samplerate)
    track.style(score, track)
    loudness, reverb = MIX[track.style]
    mix = score.render(reverb, loudness)
    if track.encoding.channels == 1:
        mix = mix.mean(axis=0, keepdims=True)
    return np.ascontiguousarray(mix.T, dtype=np.float32)


def _fix_ogg_serial(path: Path, serial: int) -> None:
    """Give every page one fixed stream serial (libsndfile picks a random one per file)."""
    with open(path, "rb") as stream:
        pages = []
        while True:
            try:
                pages.append(OggPage(stream))
            except EOFError:
                break
    for page in pages:
        page.serial = serial
    path.write_bytes(b"".join(page.write() for page in pages))  # write() recomputes each CRC


def _tag(path: Path, track: Track) -> None:
    values = {
        "title": track.title,
        "artist": ARTIST,
        "album": track.album,
        "tracknumber": f"{track.number}/{len(TRACKS)}",
        "genre": GENRE,
    }
    if track.encoding.extension == ".wav":
        wave = mutagen.wave.WAVE(path)
        wave.add_tags()
        for frame, key in ((TIT2, "title"), (TPE1, "artist"), (TALB, "album"), (TRCK, "tracknumber"), (TCON, "genre")):
            wave.tags.add(frame(encoding=3, text=[values[key]]))
        wave.save()
        return
    audio = mutagen.File(path, easy=True)
    if audio.tags is None:
        audio.add_tags()
    for key, value in values.items():
        audio[key] = value
    if track.encoding.extension == ".mp3":
        audio.save(v2_version=3)  # ID3v2.3: read by every player
    else:
        audio.save()


def write_track(track: Track, out_dir: Path) -> Path:
    path = out_dir / track.filename
    enc = track.encoding
    frames = render(track)
    with sf.SoundFile(
        path,
        "w",
        enc.samplerate,
        enc.channels,
        format=enc.format,
        subtype=enc.subtype,
        compression_level=enc.compression_level,
        bitrate_mode=enc.bitrate_mode,
    ) as sound:
        # Written in blocks: one ~2M-frame write crashes libsndfile 1.2.2's Vorbis encoder.
        for start in range(0, len(frames), 65536):
            sound.write(frames[start : start + 65536])
    _tag(path, track)
    if enc.format == "OGG":
        _fix_ogg_serial(path, 0x6D6F6F64 + track.number)  # "mood" + n
    return path


# --- README ----------------------------------------------------------------------------------

README_HEAD = """\
# moodtui demo library

Twelve short pieces of music for trying moodtui without a music collection of your own. They were
synthesised from scratch by `scripts/make_demo_library.py` (additive and FM synthesis, synthetic drums,
chord progressions with generated melodies, all computed with numpy and scipy; no samples, loops or
recordings of any kind). The script is deterministic (fixed seed, fixed Ogg stream serials): with the same
libsndfile and encoder versions it regenerates these files byte for byte.

    python scripts/make_demo_library.py

**Licence.** The audio files in this folder are dedicated to the public domain under
[CC0 1.0](https://creativecommons.org/publicdomain/zero/1.0/): use them for anything, no attribution needed.
The script that makes them is part of moodtui and, like the rest of the code, GPL-3.0-or-later.

Each file is tagged (artist "{artist}", album per mood group, title, track number, genre "{genre}":
Vorbis comments in Ogg/Opus/FLAC, ID3v2.3 in the MP3, an ID3 chunk in the WAV). The formats cover what
the core decodes natively: Ogg Vorbis (most pieces, 44.1 kHz stereo), MP3 (44.1 kHz stereo), Opus (48 kHz
stereo), FLAC and WAV (22.05 kHz mono, the model's own rate, to keep them small).

The intended mood is the class each piece was written to evoke (positive / neutral / negative); it is
not a label the model was trained on, and it is not stored anywhere else. None of these files is in the
IMAC table.

| # | File | Title | Album | Intended mood | Character | Duration | Format | Size | SHA-256 |
|---|------|-------|-------|---------------|-----------|----------|--------|------|---------|
"""


def describe(path: Path, track: Track) -> str:
    info = sf.info(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    fmt = f"{info.format} {info.subtype}, {info.samplerate} Hz, {'stereo' if info.channels == 2 else 'mono'}"
    return (
        f"| {track.number} | `{path.name}` | {track.title} | {track.album} | {track.mood} | {track.character} "
        f"| {info.duration:.1f} s | {fmt} | {path.stat().st_size / 1024:.0f} KiB | `{digest}` |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_DIR / "library", help="output folder (default: library/)")
    parser.add_argument("--only", type=int, action="append", help="render only this track number (repeatable)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for track in TRACKS:
        if args.only and track.number not in args.only:
            continue
        path = write_track(track, args.out)
        rows.append(describe(path, track))
        print(
            rows[-1].split("|")[2].strip(), f"{sf.info(path).duration:.1f} s", f"{path.stat().st_size / 1024:.0f} KiB"
        )
    if not args.only:
        total = sum((args.out / t.filename).stat().st_size for t in TRACKS)
        readme = io.StringIO()
        readme.write(README_HEAD.format(artist=ARTIST, genre=GENRE))
        readme.write("\n".join(rows) + "\n")
        readme.write(f"\nTotal: {len(TRACKS)} files, {total / 1024 / 1024:.2f} MiB.\n")
        (args.out / "README.md").write_text(readme.getvalue(), encoding="utf-8")
        print(f"total {total / 1024 / 1024:.2f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
