"""Melody I/O: MIDI in and out (mido), every bad input of issue 21, the synthesiser and piano rolls."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from hfmech.errors import HfmechError
from hfmech.melody.data import NO_EVENT, NOTE_OFF
from hfmech.melody.io import (
    DrumsOnlyError,
    EmptyMelodyError,
    MelodyInputError,
    MelodyTooShortError,
    MeterError,
    MidiFileError,
    midi_bytes,
    piano_roll,
    read_melody,
    read_midi,
    synthesize,
    wav_bytes,
    write_midi,
)

mido = pytest.importorskip("mido")


def melody(bars: int = 4) -> np.ndarray:
    events = np.full(bars * 16, NO_EVENT, dtype=np.int64)
    for i, t in enumerate(range(0, bars * 16, 4)):
        events[t] = 60 + (i * 5) % 19
    events[-2] = NOTE_OFF
    return events


def midi_file(notes, *, tpb=480, meter=None, channel=0, tail_ticks=0) -> bytes:
    """notes: (start_tick, end_tick, pitch[, channel])."""
    mid = mido.MidiFile(type=0, ticks_per_beat=tpb)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    if meter:
        track.append(mido.MetaMessage("time_signature", numerator=meter[0], denominator=meter[1], time=0))
    msgs = []
    for n in notes:
        ch = n[3] if len(n) > 3 else channel
        msgs.append((n[0], 1, n[2], ch))
        msgs.append((n[1], 0, n[2], ch))
    msgs.sort(key=lambda m: (m[0], -m[1]))  # note-ons first: a zero-length note is on, then off
    now = 0
    for tick, on, pitch, ch in msgs:
        track.append(
            mido.Message("note_on", note=pitch, velocity=80 if on else 0, channel=ch, time=tick - now)
        )
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=tail_ticks))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def test_midi_round_trip_is_exact(tmp_path):
    events = melody(4)
    path = write_midi(tmp_path / "m.mid", events)
    assert np.array_equal(read_midi(path), events)
    assert np.array_equal(read_melody(midi_bytes(events, bpm=90)), events)


def test_chords_keep_the_highest_note_and_zero_length_notes_last_one_step():
    q = 120  # one sixteenth at 480 ticks per quarter
    data = midi_file(
        [(0, 4 * q, 60), (0, 4 * q, 64), (0, 4 * q, 67), (8 * q, 8 * q, 72), (32 * q, 33 * q, 62)]
    )
    events = read_midi(data)
    assert events[0] == 67 and events[4] == NOTE_OFF
    assert events[8] == 72 and events[9] == NOTE_OFF  # zero-length note: one step
    assert len(events) == 48


def test_notes_outside_the_piano_are_folded_by_octaves():
    q = 120
    events = read_midi(midi_file([(0, 4 * q, 12), (16 * q, 20 * q, 120), (31 * q, 32 * q, 60)]))
    assert events[0] == 24 and events[16] == 108


@pytest.mark.parametrize(
    "data, error",
    [
        (b"", MidiFileError),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", MidiFileError),
        (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\xff\xff\x90", MidiFileError),  # truncated
        (None, EmptyMelodyError),
        ("drums", DrumsOnlyError),
        ("waltz", MeterError),
        ("short", MelodyTooShortError),
    ],
)
def test_bad_midi_raises_typed_errors(data, error):
    q = 120
    if data is None:
        data = midi_file([])
    elif data == "drums":
        data = midi_file([(i * 4 * q, (i * 4 + 2) * q, 36, 9) for i in range(16)])
    elif data == "waltz":
        data = midi_file([(i * 4 * q, (i * 4 + 2) * q, 60) for i in range(16)], meter=(3, 4))
    elif data == "short":
        data = midi_file([(0, 4 * q, 60), (4 * q, 8 * q, 62)])
    with pytest.raises(error) as info:
        read_midi(data)
    assert isinstance(info.value, HfmechError) and isinstance(info.value, ValueError)


def test_odd_meter_can_be_read_when_asked():
    q = 120
    data = midi_file([(i * 4 * q, (i * 4 + 2) * q, 60 + i) for i in range(16)], meter=(3, 4))
    assert len(read_midi(data, allow_any_meter=True)) == 64


def test_a_two_hour_file_is_bounded():
    q = 120
    notes = [(i * 4 * q, (i * 4 + 2) * q, 60 + i % 12) for i in range(4 * 60 * 120)]  # 2 h at 120 bpm
    data = midi_file(notes)
    start = time.perf_counter()
    events = read_midi(data)
    assert len(events) == 256 * 16
    assert time.perf_counter() - start < 30


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_melody(str(tmp_path / "nope.mid"))
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(MelodyInputError):
        read_melody(str(tmp_path / "x.txt"))


def test_abc_is_read_through_music21(tmp_path):
    pytest.importorskip("music21")
    (tmp_path / "t.abc").write_text("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nCDEF GABc|cBAG FEDC|C8|]\n")
    events = read_melody(str(tmp_path / "t.abc"))
    assert events[:4].tolist() == [60, NO_EVENT, 62, NO_EVENT]
    assert events[32] == 60


def test_synthesiser_has_an_envelope_and_harmonics():
    events = np.full(32, NO_EVENT)
    events[0], events[8] = 69, NOTE_OFF  # A4 for two beats at 120 bpm (8 sixteenths: 1 s)
    audio = synthesize(events, bpm=120, sample_rate=22050)
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    assert abs(audio[0]) < 0.05 and np.abs(audio[:2205]).max() > 0.1  # a fast attack from silence
    early, late = np.abs(audio[1000:3000]).max(), np.abs(audio[18000:20000]).max()
    assert late < 0.8 * early  # decays
    assert np.abs(audio[24000:]).max() < 0.01  # released after the note-off
    spectrum = np.abs(np.fft.rfft(audio[:22050]))
    f = np.fft.rfftfreq(22050, 1 / 22050)
    fundamental = spectrum[(f > 430) & (f < 450)].max()
    second = spectrum[(f > 870) & (f < 890)].max()
    assert second > 0.1 * fundamental  # not a bare sine
    assert wav_bytes(events)[:4] == b"RIFF"


def test_piano_roll_draws_every_note():
    fig = piano_roll([melody(2), melody(2)], ["a", "b"])
    assert len(fig.axes) == 2
    assert len(fig.axes[0].patches) == int((melody(2) >= 0).sum())
