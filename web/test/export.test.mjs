import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lib } from './helpers.mjs';

const segments = [
  { start: 0, end: 1.26, speaker: 0, text: 'Hello world.' },
  { start: 3661.5, end: 3662.0005, speaker: 1, text: 'A <b> & c\n\n\nd' },
  { start: null, end: null, speaker: null, text: 'No times.' },
];

describe('subtitles', () => {
  it('writes SubRip', () => {
    assert.equal(
      lib.toSrt(segments, 3670),
      '1\n00:00:00,000 --> 00:00:01,260\nSpeaker 0: Hello world.\n\n' +
        '2\n01:01:01,500 --> 01:01:02,001\nSpeaker 1: A <b> & c\nd\n\n' +
        '3\n01:01:02,001 --> 01:01:10,000\nNo times.\n',
    );
  });

  it('writes WebVTT with voice spans and escaped text', () => {
    assert.equal(
      lib.toVtt(segments, 3670),
      'WEBVTT\n\n00:00:00.000 --> 00:00:01.260\n<v Speaker 0>Hello world.</v>\n\n' +
        '01:01:01.500 --> 01:01:02.001\n<v Speaker 1>A &lt;b&gt; &amp; c\nd</v>\n\n' +
        '01:01:02.001 --> 01:01:10.000\nNo times.\n',
    );
    assert.equal(lib.toVtt([], 1), 'WEBVTT\n');
  });

  it('fills missing or backwards ends from the next start, else the end of the audio', () => {
    const cues = lib.toCues([
      { start: 1, end: null, speaker: 0, text: 'a' },
      { start: 4, end: 3, speaker: 0, text: 'b' },
    ], 9);
    assert.deepEqual(cues.map((c) => [c.start, c.end]), [[1, 4], [4, 9]]);
  });

  it('formats timestamps', () => {
    assert.equal(lib.formatTimestamp(0.0004, ','), '00:00:00,000');
    assert.equal(lib.formatTimestamp(59.9996, '.'), '00:01:00.000');
    assert.equal(lib.formatTimestamp(360000, '.'), '100:00:00.000');
  });
});

describe('JSON export', () => {
  it('is pretty JSON that round-trips', () => {
    const transcript = { text: 'Hello world.', segments: segments.slice(0, 1), parsed: true, dtype: 'q4' };
    const json = lib.toJson(transcript);
    assert.ok(json.endsWith('}\n'));
    assert.deepEqual(JSON.parse(json), transcript);
  });
});

describe('subtitles of an unparsed answer', () => {
  it('is one cue with the raw text', () => {
    const cues = lib.subtitleSegments({ segments: [], parsed: false, text: ' not json ' }, 2.5);
    assert.deepEqual(cues, [{ start: 0, end: 2.5, speaker: null, text: 'not json' }]);
    assert.equal(lib.toSrt(cues, 2.5), '1\n00:00:00,000 --> 00:00:02,500\nnot json\n');
    const parsed = [{ start: 1, end: 2, speaker: 0, text: 'hi' }];
    assert.equal(lib.subtitleSegments({ segments: parsed, parsed: true, text: 'x' }, 9), parsed);
    assert.deepEqual(lib.subtitleSegments({ segments: [], parsed: true, text: '' }, 9), []);
  });
});
