// The library's batch-1 Tensor helpers (model/tensors.ts) on Transformers.js' Tensor.slice and cat:
// the same values, dims and array classes as the stock calls along axis 1, and copies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

if (!process.env.VIBEVOICE_TEST_TENSORS) throw new Error('run the tests through web/test/run_tests.mjs (it bundles the helpers)');
const { Tensor, cat, sliceAxis1, concatAxis1 } = await import(process.env.VIBEVOICE_TEST_TENSORS);

const iota = (n) => Float32Array.from({ length: n }, (_, i) => i);

describe('sliceAxis1', () => {
  it('copies rows [start, end) of [1, rows, ...]', () => {
    const data = iota(24);
    const t = new Tensor('float32', data, [1, 6, 2, 2]);
    const out = sliceAxis1(t, 2, 5);
    assert.deepEqual(out.dims, [1, 3, 2, 2]);
    assert.equal(out.type, 'float32');
    assert.ok(out.data instanceof Float32Array);
    assert.deepEqual([...out.data], [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    out.data[0] = -1;
    assert.equal(data[8], 8); // a copy, not a view
  });

  it('equals the stock Tensor.slice along axis 1 for float32, float16 and int64', () => {
    const tensors = [
      new Tensor('float32', Float32Array.from({ length: 35 }, (_, i) => Math.sin(i)), [1, 7, 5]),
      new Tensor('float16', Uint16Array.from({ length: 21 }, (_, i) => 0x3c00 + i), [1, 7, 3]),
      new Tensor('int64', BigInt64Array.from({ length: 7 }, (_, i) => BigInt(i * 3)), [1, 7]),
    ];
    for (const t of tensors) {
      for (const [start, end] of [[0, 7], [0, 3], [3, 7], [2, 2], [6, 7]]) {
        const ours = sliceAxis1(t, start, end);
        const stock = t.slice(null, [start, end]);
        assert.equal(ours.type, t.type);
        assert.deepEqual(ours.dims, stock.dims, `${t.type} ${start}..${end}`);
        assert.equal(ours.data.constructor, t.data.constructor);
        assert.deepEqual([...ours.data], [...stock.data], `${t.type} ${start}..${end}`);
      }
    }
  });

  it('rejects other batches and rows outside the tensor', () => {
    const t = new Tensor('float32', iota(24), [1, 6, 2, 2]);
    assert.throws(() => sliceAxis1(new Tensor('float32', iota(24), [2, 3, 2, 2]), 0, 1), /batch 1/);
    assert.throws(() => sliceAxis1(new Tensor('float32', iota(6), [6]), 0, 1), /batch 1/);
    assert.throws(() => sliceAxis1(t, 4, 7), /outside/);
    assert.throws(() => sliceAxis1(t, 3, 2), /outside/);
    assert.throws(() => sliceAxis1(t, -1, 2), /outside/);
  });
});

describe('concatAxis1', () => {
  it('joins [1, t_i, hidden] pieces in order into a new tensor', () => {
    const pieces = [2, 1, 3].map((t, k) => new Tensor('float32', Float32Array.from({ length: t * 3 }, (_, i) => 100 * k + i), [1, t, 3]));
    const joined = concatAxis1(pieces);
    assert.deepEqual(joined.dims, [1, 6, 3]);
    assert.deepEqual([...joined.data], pieces.flatMap((p) => [...p.data]));
    joined.data[0] = -1;
    assert.equal(pieces[0].data[0], 0); // a copy, even of one piece
    assert.notEqual(concatAxis1([pieces[1]]).data, pieces[1].data);
  });

  it('equals the stock cat along axis 1 for float32, float16 and int64', () => {
    const make = (type, t, rest) => {
      const n = t * rest.reduce((a, b) => a * b, 1);
      if (type === 'int64') return new Tensor(type, BigInt64Array.from({ length: n }, (_, i) => BigInt(i - 5)), [1, t, ...rest]);
      if (type === 'float16') return new Tensor(type, Uint16Array.from({ length: n }, (_, i) => 0x3800 + 7 * i), [1, t, ...rest]);
      return new Tensor(type, Float32Array.from({ length: n }, (_, i) => Math.cos(i * t)), [1, t, ...rest]);
    };
    for (const type of ['float32', 'float16', 'int64']) {
      for (const rest of [[], [4], [2, 3]]) {
        const pieces = [3, 1, 4].map((t) => make(type, t, rest));
        const ours = concatAxis1(pieces);
        const stock = cat(pieces, 1);
        assert.equal(ours.type, type);
        assert.deepEqual(ours.dims, stock.dims);
        assert.equal(ours.data.constructor, pieces[0].data.constructor);
        assert.deepEqual([...ours.data], [...stock.data], `${type} [${rest}]`);
      }
    }
  });

  it('undoes sliceAxis1', () => {
    const t = new Tensor('float32', Float32Array.from({ length: 40 }, (_, i) => i * 0.5), [1, 10, 4]);
    const pieces = [[0, 3], [3, 4], [4, 10]].map(([s, e]) => sliceAxis1(t, s, e));
    assert.deepEqual([...concatAxis1(pieces).data], [...t.data]);
  });

  it('rejects no pieces, other batches, other trailing dims and other types', () => {
    const a = new Tensor('float32', iota(6), [1, 2, 3]);
    assert.throws(() => concatAxis1([]), /at least one/);
    assert.throws(() => concatAxis1([a, new Tensor('float32', iota(6), [2, 1, 3])]), /batch 1/);
    assert.throws(() => concatAxis1([a, new Tensor('float32', iota(4), [1, 2, 2])]), /got \[1, 2, 2\] float32/);
    assert.throws(() => concatAxis1([a, new Tensor('float16', new Uint16Array(6), [1, 2, 3])]), /float16/);
  });
});
