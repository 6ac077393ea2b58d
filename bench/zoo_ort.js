// ONNX Runtime's side of bench/zoo.sh: inference of an exported model on a .npy batch with
// onnxruntime-node (CPU, intra-op threads as given, one inter-op thread), the warm-up runs
// excluded. Prints one JSON line: each timed run's seconds, their median, and, with --expect
// y.npy, the largest difference from that output over its largest magnitude (a check that ONNX
// Runtime ran the same model).
//   NODE_PATH=build-zoo/node_modules node bench/zoo_ort.js MODEL.onnx x.npy
//       [--threads T] [--runs R] [--warmup W] [--expect y.npy]
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

// A little-endian float32 C-order .npy file (version 1 or 2) as {shape, data}.
function readNpy(path) {
  const bytes = fs.readFileSync(path);
  if (bytes.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = bytes.toString('latin1', major === 1 ? 10 : 12, start);
  if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True")) {
    throw new Error(`${path}: expected little-endian float32 in C order, header ${header.trim()}`);
  }
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
  return {shape, data};
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  return n % 2 ? v[(n - 1) / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

async function main() {
  const args = process.argv.slice(2);
  const options = {threads: 1, runs: 10, warmup: 1, expect: null};
  const positional = [];
  for (let i = 0; i < args.length; ++i) {
    if (args[i].startsWith('--')) options[args[i].slice(2)] = args[++i];
    else positional.push(args[i]);
  }
  if (positional.length !== 2) {
    console.error('usage: node bench/zoo_ort.js MODEL.onnx x.npy [--threads T] [--runs R] [--warmup W] [--expect y.npy]');
    process.exit(2);
  }
  const [modelPath, inputPath] = positional;
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: Number(options.threads), interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const x = readNpy(inputPath);
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape)};
  const seconds = [];
  let output = null;
  for (let run = 0; run < Number(options.warmup) + Number(options.runs); ++run) {
    const start = process.hrtime.bigint();
    const result = await session.run(feeds);
    const took = Number(process.hrtime.bigint() - start) / 1e9;
    if (run >= Number(options.warmup)) seconds.push(took);
    output = result[session.outputNames[0]].data;
  }
  const line = {framework: 'onnxruntime', version: require('onnxruntime-node/package.json').version,
                batch: x.shape[0], threads: Number(options.threads), seconds, seconds_median: median(seconds)};
  if (options.expect) {
    const y = readNpy(options.expect).data;
    let diff = 0, scale = 0;
    for (let i = 0; i < y.length; ++i) {
      diff = Math.max(diff, Math.abs(output[i] - y[i]));
      scale = Math.max(scale, Math.abs(y[i]));
    }
    line.max_rel_error = output.length === y.length ? diff / scale : null;
  }
  console.log(JSON.stringify(line));
}

main().catch((e) => { console.error(`zoo_ort: ${e.message}`); process.exit(1); });
