import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lib, readRepoFile } from './helpers.mjs';

const seg = (start, end, speaker, text) => ({ start, end, speaker, text });

// The shared fixtures: raw answers and what the Python runtime makes of them
// (testdata/model_outputs/make_fixtures.py); the browser must give exactly the same.
const shared = JSON.parse(readRepoFile('testdata/model_outputs/model_outputs.json').toString('utf8'));

describe('shared fixtures: the same segments, text, SRT, VTT and JSON as the Python runtime', () => {
  for (const { name, raw, duration, expected } of shared.cases) {
    it(name, () => {
      const r = lib.parseTranscription(raw);
      const { text, segments, parsed, truncated } = r;
      assert.deepEqual({ text, segments, parsed, truncated }, { text: expected.text, segments: expected.segments, parsed: expected.parsed, truncated: expected.truncated });
      const cues = lib.subtitleSegments(r, duration);
      assert.equal(lib.toSrt(cues, duration), expected.srt);
      assert.equal(lib.toVtt(cues, duration), expected.vtt);
      assert.equal(lib.toText(r), expected.txt);
      assert.equal(lib.toJson({ text, segments, parsed, truncated }), expected.json);
    });
  }

  it('has one default max_new_tokens', () => {
    assert.equal(lib.DEFAULT_MAX_NEW_TOKENS, shared.default_max_new_tokens);
  });
});

describe('parseTranscription', () => {
  it('reads the JSON list the model writes, after the assistant label', () => {
    const raw = 'assistant\n[{"Start":0.0,"End":1.26,"Speaker":0,"Content":"Hello world."},{"Start":1.3,"End":2,"Speaker":1,"Content":"Hi."}]\n';
    const r = lib.parseTranscription(raw);
    assert.equal(r.parsed, true);
    assert.equal(r.truncated, false);
    assert.deepEqual(r.segments, [seg(0, 1.26, 0, 'Hello world.'), seg(1.3, 2, 1, 'Hi.')]);
    assert.equal(r.text, 'Hello world. Hi.');
    assert.equal(r.raw, raw);
  });

  it('accepts the long spellings from the prompt and other casings', () => {
    const r = lib.parseTranscription('[{"Start time": "0.50", "End time": "00:01.75", "Speaker ID": "2", "Content": "a"}, {"start_time": 2, "end_time": 3, "speaker_id": 0, "text": "b"}]');
    assert.equal(r.parsed, true);
    assert.deepEqual(r.segments, [seg(0.5, 1.75, 2, 'a'), seg(2, 3, 0, 'b')]);
  });

  it('keeps the complete segments of a cut-off list', () => {
    const r = lib.parseTranscription('[{"Start":0,"End":1,"Speaker":0,"Content":"one, [two]"},{"Start":1,"End":2,"Speaker":0,"Content":"thr');
    assert.equal(r.parsed, true);
    assert.equal(r.truncated, true);
    assert.deepEqual(r.segments, [seg(0, 1, 0, 'one, [two]')]);
    assert.equal(r.text, 'one, [two]');
  });

  it('handles escaped quotes and braces inside strings', () => {
    const r = lib.parseTranscription('[{"Start":0,"End":1,"Speaker":0,"Content":"he said \\"}]\\" loudly"}]');
    assert.deepEqual(r.segments, [seg(0, 1, 0, 'he said "}]" loudly')]);
  });

  it('returns raw text with parsed=false for anything else, and never throws', () => {
    for (const raw of ['Hello world.', '[Music] hello', '[{"Start":0', '[1, 2, 3]', '[{"Speaker":0}]', '', '{"Content": ', '\u0000\uFFFD', 'assistant\n']) {
      const r = lib.parseTranscription(raw);
      assert.equal(r.parsed, false, raw);
      assert.deepEqual(r.segments, []);
      assert.equal(typeof r.text, 'string');
    }
    assert.equal(lib.parseTranscription('assistant\nJust text.').text, 'Just text.');
    assert.equal(lib.parseTranscription(undefined).parsed, false);
  });

  it('accepts an empty list, a bare object, code fences and chat markup', () => {
    assert.deepEqual(lib.parseTranscription('[]'), { segments: [], parsed: true, truncated: false, text: '', raw: '[]' });
    assert.deepEqual(lib.parseTranscription('{"Start":1,"End":2,"Speaker":0,"Content":"x"}').segments, [seg(1, 2, 0, 'x')]);
    assert.equal(lib.parseTranscription('```json\n[{"Content":"x"}]\n```').segments[0].text, 'x');
    assert.equal(lib.parseTranscription('<|im_start|>assistant\n[{"Content":"x"}]<|im_end|>').parsed, true);
  });

  it('leaves unreadable times and speakers empty rather than failing', () => {
    const r = lib.parseTranscription('[{"Start":"soon","End":null,"Speaker":"Alice","Content":"x"}]');
    assert.deepEqual(r.segments, [seg(null, null, 'Alice', 'x')]);
  });

  it('reads seconds in several spellings', () => {
    assert.equal(lib.parseSeconds('1:02:03.5'), 3723.5);
    assert.equal(lib.parseSeconds('02:03,25'), 123.25);
    assert.equal(lib.parseSeconds('4.5s'), 4.5);
    assert.equal(lib.parseSeconds(Infinity), null);
    assert.equal(lib.parseSeconds('abc'), null);
    assert.equal(lib.parseSeconds(-1), null);
    assert.equal(lib.parseSeconds(true), null);
  });
});

describe('cutOffSegmentText: the segment being written when the output stops', () => {
  const cases = [
    ['[{"Start":0.0,"End":14.5,"Speaker":0,"Content":"Once upon a ti', 'Once upon a ti'],
    ['[{"Start":0,"End":1,"Speaker":0,"Content":"Hello."},{"Start":1,"End":2,"Speaker":1,"text": "Good mor', 'Good mor'],
    ['```json\n[{"start time": 0, "Content": "caf\\u00e9 au l', 'café au l'],
    ['[{"Start":0,"Content":"say \\"hi\\" and \\u00', 'say "hi" and'], // an escape cut in half is dropped
    ['[{"Start":0.0,"End":14', ''], // no text begun yet
    ['[{"Start":0,"End":1,"Speaker":0,"Content":"Hello."}', ''], // the last segment is complete
    ['[{"Start":0,"Speaker":"Ali', ''], // cut in another field
    ['Hello there, no JSON', ''],
    ['', ''],
  ];
  for (const [raw, want] of cases) it(JSON.stringify(raw), () => assert.equal(lib.cutOffSegmentText(raw), want));
});
