"""Parsing the model's answer into segments, and rendering segments as SRT, WebVTT, text and JSON.

The shared fixtures (testdata/model_outputs/model_outputs.json, made by its make_fixtures.py) hold
the answers and the outputs both runtimes must give; web/test/parse.test.mjs checks the browser's.
"""

import json

import pytest

from vibevoice_asr_web import runfiles
from vibevoice_asr_web.runtime import formats
from vibevoice_asr_web.runtime.pipeline import DEFAULT_MAX_NEW_TOKENS, GenerationSettings
from vibevoice_asr_web.runtime.segments import Segment, clean, parse, seconds

REAL = 'assistant\n[{"Start":0,"End":1.5,"Speaker":0,"Content":"Hello world."},{"Start":1.5,"End":3.25,"Speaker":1,"Content":"Hi!"}]'
FIXTURES = json.loads(runfiles.locate("testdata/model_outputs/model_outputs.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", FIXTURES["cases"], ids=[c["name"] for c in FIXTURES["cases"]])
def test_shared_fixture(case):
    t = parse(case["raw"])
    want = case["expected"]
    assert t.as_dict() == {k: want[k] for k in ("text", "segments", "parsed", "truncated")}
    assert formats.srt(t, case["duration"]) == want["srt"]
    assert formats.vtt(t, case["duration"]) == want["vtt"]
    assert formats.text(t) == want["txt"]
    assert formats.json_text(t) == want["json"]


def test_the_fixtures_cover_what_they_promise():
    names = " ".join(c["name"] for c in FIXTURES["cases"])
    for topic in ("canonical", "truncated", "repeated", "keys", "code fence", "clock times", "missing end", "empty output"):
        assert topic in names
    assert FIXTURES["default_max_new_tokens"] == DEFAULT_MAX_NEW_TOKENS


def test_parses_the_real_models_answer():
    t = parse(REAL)
    assert t.parsed and not t.truncated
    assert t.segments == (Segment(0.0, 1.5, 0, "Hello world."), Segment(1.5, 3.25, 1, "Hi!"))
    assert t.text == "Hello world. Hi!"
    assert t.segments_as_dicts()[1] == {"start": 1.5, "end": 3.25, "speaker": 1, "text": "Hi!"}


@pytest.mark.parametrize(
    "answer",
    [
        '<|im_start|>assistant\n[{"Start time":0,"End time":2,"Speaker ID":3,"Content":"a"}]<|im_end|>\n<|endoftext|>',
        '[{"start_time": "0", "end_time": "2.0", "speaker_id": "3", "content": "a"}]',
        '  assistant\n  [ {"START": 0, "End": 2, "Speaker": 3.0, "Content": " a "} ]  ',
        '```json\n{"start": "00:00", "end": "0:00:02,0", "speaker": 3, "text": "a"}\n```',
    ],
)
def test_accepts_key_spellings_headers_fences_bare_objects_and_clock_times(answer):
    t = parse(answer)
    assert t.parsed and t.segments == (Segment(0.0, 2.0, 3, "a"),)


def test_salvages_complete_segments_from_truncated_json():
    t = parse('assistant\n[{"Start":0,"End":1,"Speaker":0,"Content":"one"}, {"Start":1,"End":2,"Speaker":0,"Content":"tw')
    assert t.parsed and t.truncated
    assert [s.text for s in t.segments] == ["one"]


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "assistant\n",
        "9 mpokeGtres\ufffdven some garbage <|repo_name|>",
        "assistant\nHello world, plain text.",
        '[{"Start":0,"End":1,"Speaker":0,"Content":"tw',  # nothing complete to salvage
        '[{"Start":0,"End":1,"Speaker":0}]',  # no content
        '["just", "strings"]',
        "[1, 2",
        '[{"Start":NaN,"End":1,"Content":"x"}]',
        "[" * 5000,
    ],
)
def test_anything_else_is_returned_raw_and_never_raises(answer):
    t = parse(answer)
    assert not t.parsed and not t.truncated and t.segments == ()
    assert t.text == clean(answer)


def test_unreadable_times_are_left_empty():
    assert parse('[{"Start":"soon","End":-1,"Content":"x"}]').segments == (Segment(None, None, None, "x"),)
    assert [seconds(v) for v in ("1:02:03.5", "02:03,25", "4.5s", True, float("inf"), "abc", -0.5)] == [3723.5, 123.25, 4.5, None, None, None, None]


def test_an_empty_list_is_a_parsed_empty_transcript():
    t = parse("assistant\n[]")
    assert t.parsed and t.segments == () and t.text == ""


def test_srt_and_vtt_with_speakers_and_timestamps():
    t = parse('[{"Start":0,"End":1.5,"Speaker":0,"Content":"Hello <b> & you"},{"Start":3661.0004,"End":3662.9996,"Speaker":1,"Content":"line one\\n\\nline two"}]')
    assert formats.srt(t, 4000.0) == (
        "1\n00:00:00,000 --> 00:00:01,500\nSpeaker 0: Hello <b> & you\n\n"
        "2\n01:01:01,000 --> 01:01:03,000\nSpeaker 1: line one\nline two\n"
    )
    assert formats.vtt(t, 4000.0) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n<v Speaker 0>Hello &lt;b&gt; &amp; you</v>\n\n"
        "01:01:01.000 --> 01:01:03.000\n<v Speaker 1>line one\nline two</v>\n"
    )
    assert formats.text(t) == "Hello <b> & you line one\n\nline two\n"


def test_missing_times_are_filled_from_neighbours_then_the_end_of_the_audio():
    t = parse('[{"Content":"a"},{"Start":2,"Content":"b"},{"Start":3,"End":2.5,"Content":"c"}]')
    assert [(c.start, c.end, c.speaker) for c in formats.cues(t, 9.0)] == [(0.0, 2.0, None), (2.0, 3.0, None), (3.0, 9.0, None)]


def test_unparsed_text_is_one_cue_over_the_whole_audio():
    t = parse("not json --> at all")
    assert formats.srt(t, 2.345) == "1\n00:00:00,000 --> 00:00:02,345\nnot json --> at all\n"
    assert formats.vtt(t, 2.345) == "WEBVTT\n\n00:00:00.000 --> 00:00:02.345\nnot json --&gt; at all\n"
    assert formats.srt(parse(""), 1.0) == "" and formats.vtt(parse(""), 1.0) == "WEBVTT\n"


@pytest.mark.parametrize("config, limit", [({}, DEFAULT_MAX_NEW_TOKENS), ({"max_new_tokens": 24}, 24), ({"max_length": 100}, DEFAULT_MAX_NEW_TOKENS)])
def test_max_new_tokens_is_the_folders_else_the_shared_default(tmp_path, config, limit):
    (tmp_path / "generation_config.json").write_text(json.dumps({"eos_token_id": 7, **config}))
    assert GenerationSettings.from_folder(tmp_path, (1,)).max_new_tokens == limit
