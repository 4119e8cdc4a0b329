export interface TopLogits {
  ids: number[];
  values: number[];
}

/** The k largest values of the first row, ties to the lower id, NaN last (numpy's stable argsort of -x). */
export function topK(data: ArrayLike<number>, vocab: number, k: number): TopLogits {
  const ids: number[] = [];
  const nans: number[] = [];
  // One pass keeping a sorted list of k candidates: O(vocab * k), no copy of a 152k-entry row.
  for (let i = 0; i < vocab; i++) {
    const v = data[i];
    if (Number.isNaN(v)) {
      if (nans.length < k) nans.push(i);
      continue;
    }
    if (ids.length === k && !(v > data[ids[k - 1]])) continue;
    let j = ids.length;
    while (j > 0 && v > data[ids[j - 1]]) j--;
    ids.splice(j, 0, i);
    if (ids.length > k) ids.pop();
  }
  ids.push(...nans.slice(0, k - ids.length));
  return { ids, values: ids.map((i) => data[i]) };
}
